from __future__ import annotations

import numpy
import pytest
import pyvips

from tests.analysis.conftest import get
from vitrina.analysis.lab import lab_to_srgb, srgb_to_lab, srgb_to_linear


def colors(image: numpy.ndarray) -> list[dict]:
    return get("colors").analyse([image])[0]["colors"]


def rgb(hex_colour: str) -> numpy.ndarray:
    return numpy.array([int(hex_colour[i : i + 2], 16) for i in (1, 3, 5)], dtype=float)


def vips_lab(pixels: numpy.ndarray) -> numpy.ndarray:
    """CIELAB by libvips, independent of vitrina.analysis.lab."""
    im = pyvips.Image.new_from_array(pixels.reshape(1, -1, 3).astype(numpy.uint8)).copy(
        interpretation="srgb"
    )
    return im.colourspace("lab").numpy().reshape(-1, 3)


def test_two_colour_image_from_real_crops(previews: dict) -> None:
    # the mean colours of a patch of coffee and of rocket's sky, 90 / 38 rows (70% / 30%);
    # the boundary falls on the 2:1 sampling grid so no blended row appears
    a = previews["coffee.png"][40:80, 60:100].reshape(-1, 3).mean(0).round()
    b = previews["rocket.jpg"][10:40, 10:60].reshape(-1, 3).mean(0).round()
    image = numpy.empty((128, 128, 3), numpy.uint8)
    image[:90], image[90:] = a, b
    found = colors(image)
    assert len(found) == 2
    assert numpy.abs(rgb(found[0]["hex"]) - a).max() <= 1 and found[0]["fraction"] == 0.7031
    assert numpy.abs(rgb(found[1]["hex"]) - b).max() <= 1 and found[1]["fraction"] == 0.2969


def test_flat_image_has_one_colour() -> None:
    found = colors(numpy.full((30, 30, 3), (10, 200, 30), numpy.uint8))
    assert found == [{"hex": "#0ac81e", "fraction": 1.0}]


@pytest.mark.parametrize("name", ["coffee.png", "astronaut.png", "chelsea.png"])
def test_colours_describe_the_photo(previews: dict, name: str) -> None:
    image = previews[name]
    found = colors(image)
    assert 2 <= len(found) <= 5
    fractions = [c["fraction"] for c in found]
    assert fractions == sorted(fractions, reverse=True)
    assert sum(fractions) == pytest.approx(1, abs=0.002)
    assert found == colors(image)  # fixed seed: same answer every time
    # each reported fraction is the share of the photo's pixels nearest (in Lab) to that colour
    pixels = vips_lab(image)
    centres = vips_lab(numpy.array([rgb(c["hex"]) for c in found]))
    nearest = numpy.argmin(((pixels[:, None] - centres[None]) ** 2).sum(-1), axis=1)
    shares = numpy.bincount(nearest, minlength=len(found)) / len(pixels)
    assert numpy.abs(shares - fractions).max() < 0.05


def test_lab_agrees_with_libvips() -> None:
    rng = numpy.random.default_rng(1)
    samples = rng.integers(0, 256, size=(500, 3)).astype(float)
    samples[:3] = [(0, 0, 0), (255, 255, 255), (255, 0, 0)]
    numpy.testing.assert_allclose(srgb_to_lab(samples), vips_lab(samples), atol=0.2)
    numpy.testing.assert_allclose(lab_to_srgb(srgb_to_lab(samples)), samples, atol=1e-6)


def test_uint8_table_matches_the_sRGB_formula() -> None:
    values = numpy.arange(256, dtype=numpy.uint8).reshape(16, 16)
    assert numpy.array_equal(srgb_to_linear(values), srgb_to_linear(values.astype(float)))
    assert srgb_to_linear(values)[0, 0] == 0.0 and srgb_to_linear(values)[15, 15] == 1.0
