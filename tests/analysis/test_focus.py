"""The `focus` analyser: faces and the salient point, from the same preview as the
other signals, in the shape serving reads back."""

from __future__ import annotations

import numpy
import pytest

from tests.analysis.conftest import get
from vitrina.errors import InvalidInput
from vitrina.media import focus as detection
from vitrina.media.focus import Focus


def find(image: numpy.ndarray) -> Focus:
    (value,) = get("focus").analyse([image])
    return Focus.from_dict(value)  # what serving reads back


def test_astronaut_face_and_salient_point(previews: dict) -> None:
    found = find(previews["astronaut.png"])
    assert (found.producer, found.version) == ("vitrina.focus", detection.VERSION)
    assert get("focus").version == detection.VERSION
    assert len(found.faces) == 1
    cx, cy = found.faces[0].centre
    assert 0.3 < cx < 0.55 and 0.1 < cy < 0.35  # her face, in the 512x512 photo
    assert found.salient is not None


@pytest.mark.parametrize("photo", ["rocket.jpg", "text.png", "chelsea.png"])
def test_no_faces_still_gives_a_salient_point(previews: dict, photo: str) -> None:
    found = find(previews[photo])
    assert found.faces == () and found.salient is not None
    assert all(0.0 <= v <= 1.0 for v in found.salient)


def test_same_answer_as_detecting_on_the_encoded_picture(previews: dict, photos) -> None:
    # the preview path and the path for encoded sources agree on where things are
    from_preview = find(previews["astronaut.png"])
    from_file = detection.detect_focus(photos / "astronaut.png")
    (a,), (b,) = from_preview.faces, from_file.faces
    assert abs(a.centre[0] - b.centre[0]) < 0.03 and abs(a.centre[1] - b.centre[1]) < 0.03
    assert numpy.allclose(from_preview.salient, from_file.salient, atol=0.05)


def test_rejects_what_is_not_a_preview() -> None:
    with pytest.raises(InvalidInput):
        get("focus").analyse([numpy.zeros((10, 10, 4), numpy.uint8)])
