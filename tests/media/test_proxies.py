"""Renditions made at ingest stand in for a large original only when they are at
least 1.5 times the size a render needs; the output's geometry never changes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import pyvips

from vitrina.delivery import parse_ops
from vitrina.media.transform import PROXY_MARGIN, Proxy, transform

PHOTOS = Path(__file__).resolve().parents[2] / "data" / "photos"


@pytest.fixture(scope="module")
def camera(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A 4000x2669 camera-sized JPEG (rocket.jpg upscaled, sRGB) and its 1280 px rendition."""
    out = tmp_path_factory.mktemp("proxies")
    rocket = pyvips.Image.new_from_file(str(PHOTOS / "rocket.jpg")).icc_transform("srgb")
    big = rocket.resize(4000 / rocket.width)
    big.jpegsave(str(out / "camera.jpg"), Q=90, keep="none")
    pyvips.Image.thumbnail(str(out / "camera.jpg"), 1280).jpegsave(str(out / "w1280.jpg"), Q=80)
    return out / "camera.jpg", out / "w1280.jpg"


def _proxy(path: Path) -> Proxy:
    image = pyvips.Image.new_from_file(str(path))
    return Proxy(image.width, image.height, lambda: path)


def _marker(tmp_path: Path, width: int, height: int) -> Proxy:
    """A solid red stand-in: any red in the output proves it was read."""
    path = tmp_path / "red.jpg"
    (pyvips.Image.black(width, height, bands=3) + [255, 0, 0]).cast("uchar").jpegsave(str(path))
    return Proxy(width, height, lambda: path)


def _mean_rgb(data: bytes) -> np.ndarray:
    return pyvips.Image.new_from_buffer(data, "").numpy().reshape(-1, 3).mean(axis=0)


@pytest.mark.parametrize("ops", [
    "w_400,h_300", "w_400,h_300,c_fill", "w_300,h_300,c_fill,g_north", "w_400,h_400,c_pad",
    "w_200,h_200,c_thumb", "w_400,h_300,c_scale", "w_320,dpr_2", "w_400,h_300,r_90",
])
def test_same_geometry_and_nearly_the_same_pixels(camera, ops):
    original, w1280 = camera
    parsed = parse_ops(ops)
    direct = transform(original, parsed, "jpeg")
    proxied = transform(original, parsed, "jpeg", proxies=[_proxy(w1280)])
    assert (proxied.width, proxied.height) == (direct.width, direct.height)
    a = pyvips.Image.new_from_buffer(direct.data, "").numpy().astype(float)
    b = pyvips.Image.new_from_buffer(proxied.data, "").numpy().astype(float)
    assert np.abs(a - b).mean() < 3.0  # JPEG-level differences only


def test_used_only_with_a_margin_over_the_needed_size(camera, tmp_path):
    original, _ = camera
    red = _marker(tmp_path, 1280, 854)
    small = transform(original, parse_ops("w_400"), "jpeg", proxies=[red])
    assert _mean_rgb(small.data)[0] > 240  # read from the stand-in
    need = int(1280 / PROXY_MARGIN) + 1
    large = transform(original, parse_ops(f"w_{need}"), "jpeg", proxies=[red])
    assert _mean_rgb(large.data)[0] < 200  # too close to the needed size: the original


def test_smallest_fitting_stand_in_is_chosen(camera, tmp_path):
    original, w1280 = camera
    red = _marker(tmp_path, 640, 427)
    out = transform(original, parse_ops("w_300"), "jpeg", proxies=[_proxy(w1280), red])
    assert _mean_rgb(out.data)[0] > 240


def test_crops_in_source_pixels_always_read_the_original(camera, tmp_path):
    original, _ = camera
    red = _marker(tmp_path, 1280, 854)
    out = transform(original, parse_ops("c_crop,x_100,y_100,w_200,h_150"), "jpeg", proxies=[red])
    assert (out.width, out.height) == (200, 150) and _mean_rgb(out.data)[0] < 200
