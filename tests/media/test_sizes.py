"""Exact output sizes for every mode (a table, as imgproxy's processing tests do), and
pixel checks that crops, gravity, rotation and mirroring take the right pixels."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import pyvips

from vitrina.delivery import InvalidOps, parse_ops
from vitrina.media.geometry import Rect, to_upright_rect
from vitrina.media.transform import transform

PHOTOS = Path(__file__).resolve().parents[2] / "data" / "photos"

# ops -> (size on the 640x427 landscape rocket, size on the 427x640 portrait);
# a string instead of a size names the op refused with 400
SIZES: list[tuple[str, tuple[int, int] | str, tuple[int, int] | str]] = [
    ("c_scale,w_400,h_300", (400, 300), (400, 300)),
    ("c_scale,w_320", (320, 214), (320, 480)),
    ("c_scale,h_200", (300, 200), (133, 200)),
    ("c_scale,dpr_0.5", (320, 214), (214, 320)),
    ("c_scale,w_401,h_1", (401, 1), (401, 1)),
    ("c_fit,w_400,h_300", (400, 267), (200, 300)),
    ("w_400,h_300", (400, 267), (200, 300)),
    ("c_fit,w_400,h_300,dpr_2", (800, 534), (400, 600)),
    ("c_fit,w_1000", (1000, 667), (1000, 1499)),
    ("c_fit,w_1,h_1", (1, 1), (1, 1)),
    ("c_fit,ar_1:1", (427, 285), (285, 427)),
    ("c_limit,w_1000", (640, 427), (427, 640)),
    ("c_limit,w_400,h_300", (400, 267), (200, 300)),
    ("c_limit,w_400,dpr_2", (640, 427), (427, 640)),
    ("c_fill,w_400,h_300", (400, 300), (400, 300)),
    ("c_fill,w_300,h_300,dpr_1.5", (450, 450), (450, 450)),
    ("c_fill,ar_16:9,w_320", (320, 180), (320, 180)),
    ("c_fill,ar_1:1", (427, 427), (427, 427)),
    ("c_fill,ar_1:2,g_auto", (214, 427), (320, 640)),
    ("c_fill,w_400", (400, 267), (400, 600)),
    ("c_fill,w_100,h_400,g_north_east", (100, 400), (100, 400)),
    ("c_pad,w_400,h_400", (400, 400), (400, 400)),
    ("c_pad,w_300,ar_3:1,b_000", (300, 100), (300, 100)),
    ("c_pad,h_200", (300, 200), (133, 200)),
    ("c_crop,w_200,h_100", (200, 100), (200, 100)),
    ("c_crop,w_200,h_100,dpr_2", (400, 200), (400, 200)),
    ("c_crop,w_1000,h_100", (640, 100), (427, 100)),
    ("c_crop,x_600,y_400,w_100,h_100", (40, 27), "x"),
    ("c_crop,x_400,y_600,w_100", "y", (27, 40)),
    ("c_crop,ar_1:2", (214, 427), (320, 640)),
    ("c_crop,w_100,h_100,g_auto", (100, 100), (100, 100)),
    ("c_thumb,w_150,h_150", (150, 150), (150, 150)),
    ("c_thumb,w_150,h_100,g_face", (150, 100), (150, 100)),
    ("c_fit,w_400,h_300,r_90", (200, 300), (400, 267)),
    ("c_fill,w_400,h_300,r_270,fl_h", (400, 300), (400, 300)),
    ("c_crop,w_200,h_100,r_90,fl_v", (200, 100), (200, 100)),
]


@pytest.fixture(scope="module")
def sources(made: Path) -> dict[str, Path]:
    return {"landscape": PHOTOS / "rocket.jpg", "portrait": made / "portrait.png"}


@pytest.mark.parametrize("ops, landscape, portrait", SIZES, ids=[s[0] for s in SIZES])
def test_exact_sizes(
    sources: dict[str, Path], ops: str, landscape: object, portrait: object
) -> None:
    for name, expected in (("landscape", landscape), ("portrait", portrait)):
        if isinstance(expected, str):
            with pytest.raises(InvalidOps) as info:
                transform(sources[name], parse_ops(ops), "jpeg")
            assert (info.value.code, info.value.details["op"]) == ("op_out_of_range", expected)
            continue
        out = transform(sources[name], parse_ops(ops), "jpeg")
        decoded = pyvips.Image.new_from_buffer(out.data, "")
        assert (out.width, out.height) == (decoded.width, decoded.height) == expected, name


def _array(path: Path) -> np.ndarray:
    return pyvips.Image.new_from_file(str(path)).numpy().astype(np.int16)


def _png(source: Path, ops: str) -> np.ndarray:
    data = transform(source, parse_ops(ops), "png").data
    return pyvips.Image.new_from_buffer(data, "").numpy().astype(np.int16)


@pytest.mark.parametrize(
    "gravity, x",
    [("west", 0), ("center", 200), ("east", 400), ("xy,gx_0.1", 0), ("xy,gx_0.6", 260)],
)
def test_fill_gravity_takes_the_right_columns(gravity: str, x: int) -> None:
    """coffee is 600x400: a 200x400 fill needs no resize, so the crop is exact pixels."""
    src = _array(PHOTOS / "coffee.png")
    out = _png(PHOTOS / "coffee.png", f"c_fill,w_200,h_400,g_{gravity}")
    assert np.array_equal(out, src[:, x : x + 200])


@pytest.mark.parametrize(
    "gravity, x, y",
    [("north_west", 0, 0), ("south_east", 500, 300), ("south", 250, 300), ("center", 250, 150)],
)
def test_crop_gravity(gravity: str, x: int, y: int) -> None:
    src = _array(PHOTOS / "coffee.png")
    out = _png(PHOTOS / "coffee.png", f"c_crop,w_100,h_100,g_{gravity}")
    assert np.array_equal(out, src[y : y + 100, x : x + 100])


def test_pad_places_the_image_by_gravity() -> None:
    src = _array(PHOTOS / "coffee.png")  # 600x400 padded to 600x600: 200 rows of background
    north = _png(PHOTOS / "coffee.png", "c_pad,w_600,h_600,g_north,b_ff0000")
    assert np.array_equal(north[:400], src)
    assert np.all(north[400:] == [255, 0, 0])
    centre = _png(PHOTOS / "coffee.png", "c_pad,w_600,h_600,b_00ff0080")
    assert np.array_equal(centre[100:500, :, :3], src) and np.all(centre[100:500, :, 3] == 255)
    assert np.all(centre[:100] == [0, 255, 0, 128]) and np.all(centre[500:] == [0, 255, 0, 128])


# numpy's view of the display frame for each (r, mirror): rot90 turns anticlockwise
_DISPLAY = {
    (0, False): lambda a: a, (90, False): lambda a: np.rot90(a, -1), (180, False): lambda a: np.rot90(a, 2),
    (270, False): lambda a: np.rot90(a, 1),
}  # fmt: skip


@pytest.mark.parametrize("r", [0, 90, 180, 270])
@pytest.mark.parametrize("mirror", [False, True])
def test_rotation_and_mirror_with_a_crop(r: int, mirror: bool) -> None:
    src = _array(PHOTOS / "coffee.png")
    shown = _DISPLAY[(r, False)](src)
    if mirror:
        shown = shown[:, ::-1]
    ops = f"c_crop,x_30,y_50,w_120,h_70,r_{r}" + (",fl_h" if mirror else "")
    assert np.array_equal(_png(PHOTOS / "coffee.png", ops), shown[50:120, 30:150])
    whole = _png(PHOTOS / "coffee.png", f"r_{r}" + (",fl_h" if mirror else ""))
    assert np.array_equal(whole, shown)


@pytest.mark.parametrize("r", [0, 90, 180, 270])
@pytest.mark.parametrize("mirror", [False, True])
def test_upright_rect_matches_numpy(r: int, mirror: bool) -> None:
    upright = np.arange(7 * 5).reshape(5, 7)  # 7 wide, 5 tall
    shown = _DISPLAY[(r, False)](upright)
    if mirror:
        shown = shown[:, ::-1]
    dh, dw = shown.shape
    for rect in (Rect(1, 2, 3, 2), Rect(0, 0, dw, dh), Rect(dw - 1, dh - 1, 1, 1)):
        area = to_upright_rect(rect, dw, dh, r, mirror)
        expected = set(shown[rect.y : rect.y + rect.h, rect.x : rect.x + rect.w].ravel())
        assert set(upright[area.y : area.y + area.h, area.x : area.x + area.w].ravel()) == expected
