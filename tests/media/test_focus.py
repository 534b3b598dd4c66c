"""Smart crops: g_face keeps the detected face, g_auto keeps the salient subject."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import pyvips

from vitrina.delivery import parse_ops
from vitrina.errors import InvalidInput
from vitrina.media.focus import Box, Focus, detect_focus
from vitrina.media.transform import transform

PHOTOS = Path(__file__).resolve().parents[2] / "data" / "photos"
ROCKET_X = (308, 338)  # the rocket's body spans these columns of rocket.jpg (640x427)


@pytest.fixture(scope="module")
def astronaut_focus() -> Focus:
    return detect_focus(PHOTOS / "astronaut.png")


@pytest.fixture(scope="module")
def rocket_focus() -> Focus:
    return detect_focus((PHOTOS / "rocket.jpg").read_bytes())


def _array(data: bytes) -> np.ndarray:
    return pyvips.Image.new_from_buffer(data, "").numpy()


def _locate(part: np.ndarray, whole: np.ndarray) -> tuple[int, int]:
    """Where ``part`` was cut from ``whole`` (best template match)."""
    scores = cv2.matchTemplate(whole.astype(np.float32), part.astype(np.float32), cv2.TM_SQDIFF)
    _, _, (x, y), _ = cv2.minMaxLoc(scores)
    return x, y


def test_astronaut_has_one_face_and_the_rocket_none(
    astronaut_focus: Focus, rocket_focus: Focus
) -> None:
    assert len(astronaut_focus.faces) == 1
    face = astronaut_focus.faces[0]
    # her face: roughly the middle third across, upper third down (512x512 photo)
    assert 0.25 < face.centre[0] < 0.6 and 0.1 < face.centre[1] < 0.35 and 0.1 < face.w < 0.3
    assert rocket_focus.faces == ()
    assert rocket_focus.salient is not None


@pytest.mark.parametrize("size", [(100, 400), (400, 80)])
def test_g_face_strip_keeps_the_face_box(astronaut_focus: Focus, size: tuple[int, int]) -> None:
    w, h = size
    whole = _array(
        transform(PHOTOS / "astronaut.png", parse_ops("c_scale,w_400,h_400"), "png").data
    )
    face = astronaut_focus.faces[0]
    fx0, fy0, fx1, fy1 = (
        face.x * 400,
        face.y * 400,
        (face.x + face.w) * 400,
        (face.y + face.h) * 400,
    )

    def keeps_face(gravity: str) -> bool:
        ops = parse_ops(f"c_fill,w_{w},h_{h},g_{gravity}")
        out = transform(PHOTOS / "astronaut.png", ops, "png", focus=astronaut_focus)
        assert (out.width, out.height) == (w, h)
        x, y = _locate(_array(out.data), whole)
        # the box is fractional, the crop whole pixels: allow the one pixel of rounding
        return x <= fx0 + 1 and fx1 <= x + w + 1 and y <= fy0 + 1 and fy1 <= y + h + 1

    assert keeps_face("face")
    assert not keeps_face("center")  # the check can fail: a centred strip cuts the face


def test_g_face_output_still_shows_a_face(astronaut_focus: Focus) -> None:
    out = transform(
        PHOTOS / "astronaut.png",
        parse_ops("c_fill,w_120,h_400,g_face"),
        "png",
        focus=astronaut_focus,
    )
    again = detect_focus(out.data)
    assert len(again.faces) == 1


def _rocket_columns(gravity: str, focus: Focus | None) -> tuple[int, int]:
    """c_fill,ar_1:2 on the 640x427 rocket needs no resize: find the columns it kept."""
    src = _array(transform(PHOTOS / "rocket.jpg", parse_ops("-"), "png").data).astype(np.int16)
    out = transform(
        PHOTOS / "rocket.jpg", parse_ops(f"c_fill,ar_1:2,g_{gravity}"), "png", focus=focus
    )
    part = _array(out.data).astype(np.int16)
    assert part.shape == (427, 214, 3)
    x, _ = _locate(part, src)
    assert np.abs(src[:, x : x + 214] - part).mean() < 2.5  # the crop is that very region
    return x, x + 214


@pytest.mark.parametrize("stored", [True, False])
def test_g_auto_keeps_the_rocket(rocket_focus: Focus, stored: bool) -> None:
    focus = rocket_focus if stored else None  # without stored focus libvips searches itself
    x0, x1 = _rocket_columns("auto", focus)
    assert x0 <= ROCKET_X[0] and ROCKET_X[1] <= x1
    for gravity in ("west", "east"):  # the check can fail
        g0, g1 = _rocket_columns(gravity, focus)
        assert not (g0 <= ROCKET_X[0] and ROCKET_X[1] <= g1)


def test_thumb_zooms_onto_the_face(astronaut_focus: Focus) -> None:
    ops = parse_ops("c_thumb,w_100,h_100,g_face")
    out = transform(PHOTOS / "astronaut.png", ops, "png", focus=astronaut_focus)
    # the face fills the avatar: found again, and far larger than in a plain fill
    again = detect_focus(out.data)
    assert len(again.faces) == 1 and again.faces[0].w > 0.4
    plain = detect_focus(
        transform(PHOTOS / "astronaut.png", parse_ops("c_fill,w_100,h_100"), "png").data
    )
    assert all(f.w < 0.3 for f in plain.faces)


def test_g_face_without_faces_falls_back_to_salient(rocket_focus: Focus) -> None:
    assert _rocket_columns("face", rocket_focus) == _rocket_columns("auto", rocket_focus)


def test_focus_round_trips_and_rejects_bad_data(astronaut_focus: Focus) -> None:
    again = Focus.from_dict(astronaut_focus.to_dict())
    assert len(again.faces) == 1 and again.faces[0].x == pytest.approx(
        astronaut_focus.faces[0].x, abs=1e-5
    )
    assert again.producer == "vitrina.focus" and again.version == astronaut_focus.version
    assert Focus.from_dict({"faces": [], "salient": None}) == Focus()
    for bad in (
        {"faces": [[0.5, 0.5, 0.6, 0.1]]},
        {"salient": [2, 0]},
        {"faces": [["x"]]},
        {"faces": [[0, 0, 0, 0.1]]},
    ):
        with pytest.raises(InvalidInput):
            Focus.from_dict(bad)
    union = Focus(faces=(Box(0.1, 0.1, 0.1, 0.1), Box(0.5, 0.6, 0.2, 0.1))).face_box()
    assert union is not None
    assert (union.x, union.y, union.w, union.h) == pytest.approx((0.1, 0.1, 0.6, 0.6))
