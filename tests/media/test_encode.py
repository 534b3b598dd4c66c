"""The one encoder module: each preset keeps its path's choices, every format decodes
without metadata, and the watchdog stops late renders only."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import pyvips

from vitrina.delivery.errors import RenderTimeout
from vitrina.media.encode import FORMATS, MIME, ON_REQUEST, RENDITION, Watchdog, encode

PHOTOS = Path(__file__).resolve().parents[2] / "data" / "photos"


@pytest.fixture(scope="module")
def picture() -> pyvips.Image:
    return pyvips.Image.thumbnail(str(PHOTOS / "rocket.jpg"), 320).copy_memory()


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("preset", [RENDITION, ON_REQUEST], ids=lambda p: p.name)
def test_every_format_and_preset_decodes_without_metadata(picture, fmt, preset) -> None:
    data = encode(picture, fmt, 80, preset)
    decoded = pyvips.Image.new_from_buffer(data, "")
    assert (decoded.width, decoded.height) == (picture.width, picture.height)
    assert decoded.get("vips-loader").startswith(MIME[fmt].split("/")[1].replace("avif", "heif"))
    assert not decoded.get_typeof("icc-profile-data") and not decoded.get_typeof("exif-data")


def test_renditions_spend_more_effort_than_renders_on_request(picture) -> None:
    # fitted Huffman tables: the same JPEG pixels in fewer bytes
    rendition, on_request = (encode(picture, "jpeg", 80, p) for p in (RENDITION, ON_REQUEST))
    assert len(rendition) < len(on_request)
    assert (pyvips.Image.new_from_buffer(rendition, "") - pyvips.Image.new_from_buffer(
        on_request, "")).abs().max() == 0
    # a rendition's quality is on the JPEG scale for every format: AVIF takes an offset
    assert RENDITION.q_offset == {"avif": -15} and not ON_REQUEST.q_offset


def test_watchdog_kills_late_renders_and_forgets_finished_ones(picture) -> None:
    watchdog = Watchdog()
    for _ in range(100):
        watchdog.cancel(watchdog.watch(picture.copy(), 60))
    assert watchdog._watched == {}  # finished renders hold no image
    slow = picture.resize(20).gaussblur(30).copy(xoffset=1)
    watchdog.watch(slow, 0.001)
    time.sleep(0.05)
    with pytest.raises(pyvips.Error, match="killed"):
        slow.jpegsave_buffer()
    with pytest.raises(RenderTimeout):
        encode(picture.resize(20).gaussblur(30), "jpeg", 80, ON_REQUEST, seconds=0.001)
