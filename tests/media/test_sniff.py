from __future__ import annotations

from pathlib import Path

import pytest
import pyvips

from vitrina.errors import InvalidInput, UnsupportedMediaType
from vitrina.media.sniff import SNIFF_BYTES, sniff

EXPECTED = {
    "astronaut.png": ("image/png", "png"),
    "camera.png": ("image/png", "png"),
    "chelsea.png": ("image/png", "png"),
    "coffee.png": ("image/png", "png"),
    "text.png": ("image/png", "png"),
    "rocket.jpg": ("image/jpeg", "jpg"),
    "hubble_deep_field.jpg": ("image/jpeg", "jpg"),
    "retina.jpg": ("image/jpeg", "jpg"),
}


def head(path: Path) -> bytes:
    with open(path, "rb") as f:
        return f.read(SNIFF_BYTES)


def test_every_real_photo_is_recognised(photos: Path) -> None:
    assert sorted(p.name for p in photos.iterdir()) == sorted(EXPECTED)
    for name, (mime, ext) in EXPECTED.items():
        found = sniff(head(photos / name))
        assert (found.mime, found.ext, found.kind) == (mime, ext, "image"), name


def test_png_named_jpg_is_png(photos: Path, tmp_path: Path) -> None:
    lying = tmp_path / "holiday.jpg"
    lying.write_bytes((photos / "coffee.png").read_bytes())
    assert sniff(head(lying)).mime == "image/png"


@pytest.mark.parametrize("video", ["bigbuckbunny.mp4", "bikes.mp4"])
def test_mp4_is_video(videos: Path, video: str) -> None:
    found = sniff(head(videos / video))
    assert (found.mime, found.ext, found.kind) == ("video/mp4", "mp4", "video")


@pytest.mark.parametrize(
    "fmt, kwargs, mime, ext",
    [
        ("webp", {}, "image/webp", "webp"),
        ("gif", {}, "image/gif", "gif"),
        ("tif", {}, "image/tiff", "tiff"),
        ("tif", {"bigtiff": False, "pyramid": False}, "image/tiff", "tiff"),
        ("avif", {"effort": 0}, "image/avif", "avif"),
    ],
)
def test_formats_written_by_libvips(
    photos: Path, fmt: str, kwargs: dict, mime: str, ext: str
) -> None:
    im = pyvips.Image.new_from_file(str(photos / "chelsea.png")).resize(0.1)
    data = im.write_to_buffer(f".{fmt}", **kwargs)
    found = sniff(data[:SNIFF_BYTES])
    assert (found.mime, found.ext, found.kind) == (mime, ext, "image")


@pytest.mark.parametrize(
    "data, mime, ext",
    [
        (b"MM\x00*\x00\x00\x00\x08", "image/tiff", "tiff"),  # big-endian TIFF
        (b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic", "image/heic", "heic"),
        (b"\x00\x00\x00\x18ftypmif1\x00\x00\x00\x00mif1heic", "image/heic", "heic"),
        (b"\x00\x00\x00\x14ftypmif1\x00\x00\x00\x00mif1", "image/heif", "heic"),
        (b"\x00\x00\x00\x14ftypqt  \x00\x00\x02\x00qt  ", "video/quicktime", "mov"),
        (b"\x00\x00\x00\x1cftypmp42\x00\x00\x00\x00mp42isom", "video/mp4", "mp4"),
        (
            b"\x1aE\xdf\xa3\x9fB\x86\x81\x01B\xf7\x81\x01B\xf2\x81\x04B\xf3\x81\x08B\x82\x84webm",
            "video/webm",
            "webm",
        ),
        (
            b"\x1aE\xdf\xa3\xa3B\x86\x81\x01B\xf7\x81\x01B\xf2\x81\x04B\xf3\x81\x08B\x82\x88matroska",
            "video/x-matroska",
            "mkv",
        ),
    ],
)
def test_container_brands(data: bytes, mime: str, ext: str) -> None:
    found = sniff(data)
    assert (found.mime, found.ext) == (mime, ext)


def test_zero_bytes_is_empty_file() -> None:
    with pytest.raises(InvalidInput) as err:
        sniff(b"")
    assert (err.value.code, err.value.status) == ("empty_file", 400)


@pytest.mark.parametrize(
    "data, detected",
    [
        (b"hello, I am a text file named photo.jpg\n", "a text file"),
        (
            b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"><script/>',
            "an SVG image",
        ),
        (b"<svg onload='alert(1)'>", "an SVG image"),
        (b"<!DOCTYPE html><html><body>hi</body></html>", "an HTML page"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", "a PDF document"),
        (b"PK\x03\x04\x14\x00\x00\x00\x08\x00", "a ZIP archive"),
        (
            b"\x00\x00\x00\x20ftypM4A \x00\x00\x00\x00M4A mp42isom",
            "an ISO media file of brand 'M4A '",
        ),
        (bytes(range(256))[:64], None),
    ],
)
def test_other_files_are_refused_with_415(data: bytes, detected: str | None) -> None:
    with pytest.raises(UnsupportedMediaType) as err:
        sniff(data)
    e = err.value
    assert (e.code, e.status) == ("unsupported_media_type", 415)
    assert e.details["detected"] == detected
    for mime in ("image/jpeg", "image/png", "image/webp", "video/mp4"):
        assert mime in e.message and mime in e.details["accepted"]


def test_only_the_head_is_needed(photos: Path) -> None:
    data = (photos / "rocket.jpg").read_bytes()
    assert sniff(data) == sniff(data[:SNIFF_BYTES])
