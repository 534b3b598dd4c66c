"""Fuzz of the Matroska link scan: any bytes, and a linked MKV damaged anywhere, give a
list of link names or a 422, never another error; real MKV and WebM files are clean."""

from __future__ import annotations

import io

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import HOSTILE
from tests.data.hostile.make_hostile_video import clip
from vitrina.errors import CorruptMedia
from vitrina.media.matroska import LINKS, linked_segments

LINKED = (HOSTILE / "linked_segment.mkv").read_bytes()
BOUNDED = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def scan(data: bytes) -> list[str]:
    return linked_segments(io.BytesIO(data), len(data))


def test_the_fixture_links_and_a_plain_mkv_does_not(tmp_path):
    assert scan(LINKED) == ["NextFilename"]
    assert scan(clip(tmp_path / "plain.mkv").read_bytes()) == []
    assert scan(clip(tmp_path / "plain.webm", "-c:v", "libvpx-vp9", "-c:a", "libopus").read_bytes()) == []


@BOUNDED
@given(st.binary(max_size=4096))
def test_any_bytes_give_links_or_a_clear_refusal(data):
    try:
        found = scan(data)
    except CorruptMedia as exc:
        assert exc.status == 422
        return
    assert set(found) <= set(LINKS.values())


@BOUNDED
@given(st.integers(0, len(LINKED) - 1), st.binary(min_size=1, max_size=64))
def test_damage_anywhere_is_survived(at, junk):
    data = LINKED[:at] + junk + LINKED[at + len(junk):]
    try:
        found = scan(data)
    except CorruptMedia:
        return
    assert set(found) <= set(LINKS.values())
