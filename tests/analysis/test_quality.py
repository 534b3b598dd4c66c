from __future__ import annotations

import numpy
import pytest
import pyvips
from scipy import ndimage

from tests.analysis.conftest import get
from vitrina.media.image import preview_array


def quality(image: numpy.ndarray) -> dict:
    return get("quality").analyse([image])[0]


def test_blur_lowers_sharpness(previews: dict) -> None:
    sharp = previews["astronaut.png"]
    blurred = ndimage.gaussian_filter(sharp, sigma=(2, 2, 0))
    assert quality(blurred)["sharpness"] < quality(sharp)["sharpness"] / 4


def test_sharpness_is_measured_at_a_fixed_size(photos) -> None:
    # the same photo previewed at 256 and at 512 px scores about the same
    small = quality(preview_array(photos / "astronaut.png", 256))["sharpness"]
    large = quality(preview_array(photos / "astronaut.png", 512))["sharpness"]
    assert large == pytest.approx(small, rel=0.25)


def test_under_exposure(previews: dict) -> None:
    normal = previews["coffee.png"]
    dark = (normal.astype(float) * 0.2).astype(numpy.uint8)
    q, qd = quality(normal), quality(dark)
    assert qd["exposure"] == pytest.approx(q["exposure"] * 0.2, abs=0.01)
    assert qd["clipped_dark"] > q["clipped_dark"] + 0.1
    assert qd["clipped_bright"] == 0


def test_over_exposure(photos) -> None:
    bright = pyvips.Image.new_from_file(str(photos / "chelsea.png")).linear(2.5, 0).cast("uchar")
    q = quality(preview_array(bright.pngsave_buffer()))
    assert q["clipped_bright"] > 0.3 and q["exposure"] > 0.7


@pytest.mark.parametrize(
    "value, expected",
    [
        (0, {"sharpness": 0.0, "exposure": 0.0, "clipped_dark": 1.0, "clipped_bright": 0.0}),
        (
            128,
            {
                "sharpness": 0.0,
                "exposure": round(128 / 255, 5),
                "clipped_dark": 0.0,
                "clipped_bright": 0.0,
            },
        ),
        (255, {"sharpness": 0.0, "exposure": 1.0, "clipped_dark": 0.0, "clipped_bright": 1.0}),
    ],
)
def test_flat_images(value: int, expected: dict) -> None:
    assert quality(numpy.full((40, 60, 3), value, numpy.uint8)) == expected
