"""The subject-aware crop: faces first, then the stored salient point, then libvips
attention; always the slot's exact size."""

from __future__ import annotations

import io

import numpy
import pytest
from PIL import Image

from vitrina.creative.crop import InvalidCreativeImage, crop_box, product_image
from vitrina.errors import InvalidInput

from .conftest import PHOTOS


def _png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def _scene(subject_x: int) -> bytes:
    """A flat grey 600x200 picture with one busy, colourful object at ``subject_x``."""
    rng = numpy.random.default_rng(7)
    pixels = numpy.full((200, 600, 3), 128, numpy.uint8)
    pixels[50:150, subject_x:subject_x + 100] = rng.integers(0, 256, (100, 100, 3))
    return _png(Image.fromarray(pixels))


def test_without_focus_libvips_attention_finds_the_subject():
    for subject_x, inside in ((30, lambda b: b[0] <= 30 and b[2] >= 130),
                              (470, lambda b: b[0] <= 470 and b[2] >= 570)):
        picture, box = product_image(_scene(subject_x), (100, 100))
        assert picture.size == (100, 100) and box[3] - box[1] == 200 and box[2] - box[0] == 200
        assert inside(box), box


def test_the_stored_salient_point_decides_where_no_faces_are():
    _, box = product_image(_scene(30), (100, 100), focus={"faces": [], "salient": [0.9, 0.5]})
    assert box == (400, 0, 600, 200)
    _, box = product_image(_scene(30), (100, 100), focus={"faces": [], "salient": [0.5, 0.5]})
    assert box == (200, 0, 400, 200)


def test_faces_win_over_the_salient_point_and_stay_whole():
    data = _scene(30)
    # a face at the right edge, the salient point at the left: the crop keeps the face
    _, box = product_image(data, (100, 100), focus={"faces": [], "salient": [0.05, 0.5]},
                           faces=[(0.8, 0.3, 0.15, 0.3)])
    assert box[0] <= 0.8 * 600 and box[2] >= 0.95 * 600


def test_the_astronaut_keeps_her_face_in_a_skyscraper_slot(demo_items):
    astronaut = next(i for i in demo_items if i["id"] == "astronaut")
    face = astronaut["focus"]["faces"][0]
    picture, box = product_image(astronaut["image"], (160, 480), focus=astronaut["focus"])
    assert picture.size == (160, 480)
    assert box[0] <= face[0] * 512 and box[2] >= (face[0] + face[2]) * 512
    # the crop is the narrow strip it must be, moved off-centre to the face
    assert box[2] - box[0] == 171 and box[0] != (512 - 171) // 2


def test_the_picture_is_the_crop_resized():
    data = (PHOTOS / "coffee.png").read_bytes()
    picture, box = product_image(data, (120, 40), focus={"faces": [], "salient": [0.5, 0.5]})
    expected = Image.open(io.BytesIO(data)).convert("RGB").crop(box).resize((120, 40),
                                                                              Image.LANCZOS)
    diff = numpy.abs(numpy.asarray(picture, float) - numpy.asarray(expected, float))
    assert diff.mean() < 4


def test_exif_orientation_is_applied():
    out = io.BytesIO()
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    Image.new("RGB", (300, 100), "red").save(out, "JPEG", exif=exif)
    _, box = product_image(out.getvalue(), (50, 50), focus={"salient": [0.5, 0.5]})
    assert box == (0, 100, 100, 200)  # the centre of a 100x300 picture, not of 300x100


def test_crop_box_fits_the_aspect_inside_the_source():
    assert crop_box(1000, 500, 100, 100, (0.0, 0.0), None) == (0, 0, 500, 500)
    assert crop_box(1000, 500, 300, 100, (0.5, 0.5), None) == (0, 84, 1000, 417)
    assert crop_box(1000, 500, 300, 100, (0.5, 1.0), None) == (0, 167, 1000, 500)


@pytest.mark.parametrize("data", [b"", b"not an image at all", _png(Image.new("RGB", (4, 4)))[:40]])
def test_bad_image_bytes_are_a_clear_error(data):
    with pytest.raises(InvalidCreativeImage) as err:
        product_image(data, (100, 100))
    assert err.value.code == "invalid_creative_image" and err.value.details["field"] == "image"


@pytest.mark.parametrize("focus, faces, field", [
    ({"faces": [], "salient": [1.5, 0.5]}, (), "focus"),
    ("middle", (), "focus"),
    (None, [(0.5, 0.5, 0.9, 0.9)], "faces"),
    (None, [(0.5,)], "faces"),
])
def test_bad_focus_or_faces_are_named(focus, faces, field):
    with pytest.raises(InvalidInput) as err:
        product_image(_scene(30), (100, 100), focus=focus, faces=faces)
    assert err.value.details["field"] == field
