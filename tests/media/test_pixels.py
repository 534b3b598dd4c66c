"""The full-size pixel digest: one per picture, whatever the file format or metadata."""

from __future__ import annotations

import pytest
import pyvips

from tests.conftest import PHOTOS
from tests.search.labelled import with_comment
from vitrina.errors import MediaTooLarge, VitrinaError
from vitrina.media.pixels import pixel_digest
from vitrina.media.probe import Limits


@pytest.fixture(scope="module")
def rocket() -> bytes:
    return (PHOTOS / "rocket.jpg").read_bytes()


def test_lossless_copies_share_the_digest(rocket: bytes) -> None:
    image = pyvips.Image.new_from_buffer(rocket, "")
    copies = [with_comment(rocket), image.pngsave_buffer(), image.tiffsave_buffer()]
    assert {pixel_digest(c) for c in copies} == {pixel_digest(rocket)}


def test_any_changed_pixel_changes_it(rocket: bytes) -> None:
    image = pyvips.Image.new_from_buffer(rocket, "")
    one_pixel = image.draw_rect([0, 0, 0], 10, 10, 1, 1)  # one pixel set to black
    assert pixel_digest(one_pixel.pngsave_buffer()) != pixel_digest(rocket)
    assert pixel_digest(image.jpegsave_buffer(Q=95)) != pixel_digest(rocket)


def test_the_upright_picture_counts_not_the_stored_one(rocket: bytes) -> None:
    upright = pyvips.Image.new_from_buffer(rocket, "")
    stored = upright.rot270().copy()  # turned a quarter left, tagged to be shown upright
    stored.set_type(pyvips.GValue.gint_type, "orientation", 6)
    tagged = stored.tiffsave_buffer()
    assert pyvips.Image.new_from_buffer(tagged, "").get("orientation") == 6
    assert pixel_digest(tagged) == pixel_digest(upright.pngsave_buffer())
    assert pixel_digest(stored.copy().pngsave_buffer(strip=True)) != pixel_digest(upright.pngsave_buffer())


def test_limits_are_checked_before_decoding(rocket: bytes) -> None:
    with pytest.raises(MediaTooLarge):
        pixel_digest(rocket, Limits(max_pixels=1000))


def test_a_broken_file_is_a_clear_error(rocket: bytes) -> None:
    with pytest.raises(VitrinaError) as err:
        pixel_digest(rocket[: len(rocket) // 2])
    assert err.value.status < 500
