"""Every hostile fixture in tests/data/hostile is refused with its stable code."""

from __future__ import annotations

import struct
import subprocess
import sys
import tracemalloc
import zlib
from pathlib import Path

import pytest

from vitrina.errors import VitrinaError
from vitrina.media.image import make_derivatives, preview_array
from vitrina.media.probe import Limits, probe, verify_decodes

HOSTILE = Path(__file__).resolve().parents[1] / "data" / "hostile"

REFUSED = [
    ("empty.jpg", "empty_file", 400),
    ("text.jpg", "unsupported_media_type", 415),
    ("script.svg", "unsupported_media_type", 415),
    ("truncated.jpg", "corrupt_media", 422),
    ("corrupt_idat.png", "corrupt_media", 422),
    ("bomb_50000x50000.png", "media_too_large", 422),
    ("bomb_65000x65000.jpg", "media_too_large", 422),
    ("frames_1001.gif", "media_too_large", 422),
]


def test_every_fixture_has_a_test() -> None:
    # the video fixtures' tests are in tests/media/test_video_probe.py
    from tests.data.hostile.make_hostile_video import FILES as VIDEO_FILES

    on_disk = {p.name for p in HOSTILE.iterdir() if p.suffix not in {".py", ".md"}} - set(VIDEO_FILES)
    assert on_disk == {name for name, _, _ in REFUSED}


@pytest.mark.parametrize("as_bytes", [False, True], ids=["path", "bytes"])
@pytest.mark.parametrize("name, code, status", REFUSED)
def test_refused_by_verify_decodes(name: str, code: str, status: int, as_bytes: bool) -> None:
    source = (HOSTILE / name).read_bytes() if as_bytes else HOSTILE / name
    with pytest.raises(VitrinaError) as err:
        verify_decodes(source)
    assert (err.value.code, err.value.status) == (code, status)
    assert str(HOSTILE) not in err.value.message  # no server paths in client messages


@pytest.mark.parametrize("name, code, status", [r for r in REFUSED if r[1] != "corrupt_media"])
def test_refused_before_derivatives_and_previews(name: str, code: str, status: int) -> None:
    for make in (lambda s: make_derivatives(s, [64], ["jpeg"]), preview_array):
        with pytest.raises(VitrinaError) as err:
            make(HOSTILE / name)
        assert err.value.code == code


def test_truncated_jpeg_header_reads_but_pixels_do_not(photos: Path) -> None:
    data = (HOSTILE / "truncated.jpg").read_bytes()
    full = (photos / "rocket.jpg").read_bytes()
    assert data == full[: len(full) // 2]
    info = probe(data)  # the header is intact...
    assert (info.width, info.height) == (640, 427)
    with pytest.raises(VitrinaError) as err:  # ...but decoding stops early
        verify_decodes(data)
    assert err.value.code == "corrupt_media"
    assert "JPEG" in err.value.message and "premature end" in err.value.message
    verify_decodes(full)  # and the whole file is fine


def png_chunks(data: bytes) -> list[tuple[bytes, bytes, bool]]:
    """(type, body, crc_ok) for each chunk of a PNG."""
    out, i = [], 8
    while i < len(data):
        (length,) = struct.unpack(">I", data[i : i + 4])
        kind, body = data[i + 4 : i + 8], data[i + 8 : i + 8 + length]
        (crc,) = struct.unpack(">I", data[i + 8 + length : i + 12 + length])
        out.append((kind, body, zlib.crc32(kind + body) & 0xFFFFFFFF == crc))
        i += 12 + length
    return out


def test_corrupt_png_fails_only_its_idat_crc() -> None:
    chunks = png_chunks((HOSTILE / "corrupt_idat.png").read_bytes())
    bad = [kind for kind, _, ok in chunks if not ok]
    assert bad == [b"IDAT"]
    assert probe(HOSTILE / "corrupt_idat.png").width == 90


def test_bomb_png_header_is_valid() -> None:
    chunks = png_chunks((HOSTILE / "bomb_50000x50000.png").read_bytes())
    assert [k for k, _, _ in chunks] == [b"IHDR", b"IDAT", b"IEND"]
    assert all(ok for _, _, ok in chunks)
    assert struct.unpack(">II", chunks[0][1][:8]) == (50_000, 50_000)


def test_bomb_is_refused_from_the_header_with_little_memory() -> None:
    tracemalloc.start()
    try:
        with pytest.raises(VitrinaError) as err:
            probe(HOSTILE / "bomb_50000x50000.png")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert err.value.code == "media_too_large"
    assert err.value.details["width"] == err.value.details["height"] == 50_000
    assert peak < 1_000_000
    # tracemalloc cannot see libvips' C allocations: measure the whole process instead
    code = (
        "import resource, sys, pyvips\n"
        "from vitrina.errors import MediaTooLarge\n"
        "from vitrina.media.probe import probe, verify_decodes\n"
        "pyvips.Image.black(8, 8).avg()\n"
        "before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "for check in (probe, verify_decodes):\n"
        "    for source in (sys.argv[1], open(sys.argv[1], 'rb').read()):\n"
        "        try:\n"
        "            check(source)\n"
        "        except MediaTooLarge:\n"
        "            pass\n"
        "        else:\n"
        "            sys.exit('not refused')\n"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before)\n"
    )
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run(
        [sys.executable, "-c", code, str(HOSTILE / "bomb_50000x50000.png")],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    grown_kib = int(out.stdout.strip())
    assert grown_kib < 20_000  # decoding would need 7.5 GB; one row alone is 150 kB


def test_frame_limit_is_configurable() -> None:
    gif = HOSTILE / "frames_1001.gif"
    assert probe(gif, Limits(max_frames=1001)).frames == 1001
    with pytest.raises(VitrinaError) as err:
        probe(gif, Limits(max_frames=1001, max_pixels=1000))
    assert err.value.code == "media_too_large" and "1,001 pixels" in err.value.message
