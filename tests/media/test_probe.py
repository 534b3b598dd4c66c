from __future__ import annotations

import json
import struct
from collections.abc import Callable
from pathlib import Path

import pytest
import pyvips

from vitrina.errors import CorruptMedia, UnsupportedMediaType
from vitrina.media.probe import probe, verify_decodes

# name: (width, height, bands, colorspace, has_icc)
PHOTOS_TABLE = {
    "astronaut.png": (512, 512, 3, "srgb", True),
    "camera.png": (512, 512, 1, "b-w", False),
    "chelsea.png": (451, 300, 3, "srgb", True),
    "coffee.png": (600, 400, 3, "srgb", False),
    "rocket.jpg": (640, 427, 3, "srgb", True),
    "hubble_deep_field.jpg": (1000, 872, 3, "srgb", True),
    "text.png": (448, 172, 1, "b-w", False),
    "retina.jpg": (1411, 1411, 3, "srgb", False),
}


@pytest.mark.parametrize("name", sorted(PHOTOS_TABLE))
def test_every_photo(photos: Path, name: str) -> None:
    info = probe(photos / name)
    assert (info.width, info.height, info.bands, info.colorspace, info.has_icc) == PHOTOS_TABLE[
        name
    ]
    assert (info.orientation, info.frames, info.bit_depth, info.has_alpha) == (1, 1, 8, False)
    assert info.format == ("jpeg" if name.endswith(".jpg") else "png")
    assert (info.has_gps, info.gps) == (False, None)
    assert probe((photos / name).read_bytes()) == info
    verify_decodes(photos / name)


def test_to_dict_is_json(photos: Path) -> None:
    d = probe(photos / "hubble_deep_field.jpg").to_dict()
    assert json.loads(json.dumps(d)) == d
    assert d["exif"]["Software"] == "Adobe Photoshop CS5 Macintosh"


@pytest.mark.parametrize("orientation", range(1, 9))
def test_orientation_gives_display_size(
    oriented_jpeg: Callable[[int], bytes], orientation: int
) -> None:
    data = oriented_jpeg(orientation)
    stored = pyvips.Image.new_from_buffer(data, "")
    info = probe(data)
    assert info.orientation == orientation
    assert (info.width, info.height) == (451, 300)  # chelsea as displayed
    swapped = orientation >= 5
    assert (stored.width, stored.height) == ((300, 451) if swapped else (451, 300))


def test_gps_is_flagged_and_parsed(gps_jpeg: bytes) -> None:
    info = probe(gps_jpeg)
    assert info.has_gps
    assert info.gps == pytest.approx(
        {"lat": 52 + 22 / 60 + 12 / 3600, "lon": -(4 + 53 / 60 + 30 / 3600)}
    )
    assert info.exif == {
        "Make": "Vitrina Test Cam",
        "Model": "Model X",
        "DateTimeOriginal": "2024:05:01 12:00:00",
        "LensModel": "50mm f/1.8",
        "ExposureTime": "1/125",
    }


def test_gps_in_xmp_only_is_flagged(photos: Path) -> None:
    im = pyvips.Image.new_from_file(str(photos / "coffee.png")).resize(0.1).copy()
    xmp = (
        b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/'
        b'22-rdf-syntax-ns#"><rdf:Description xmlns:exif="http://ns.adobe.com/exif/1.0/" '
        b'exif:GPSLatitude="52,22.2N" exif:GPSLongitude="4,53.5W"/></rdf:RDF></x:xmpmeta>'
    )
    im.set_type(pyvips.GValue.blob_type, "xmp-data", xmp)
    info = probe(im.pngsave_buffer())
    assert (info.has_gps, info.gps) == (True, None)


def test_broken_exif_does_not_fail_the_probe(photos: Path) -> None:
    data = (photos / "rocket.jpg").read_bytes()
    junk = b"Exif\x00\x00II*\x00\xff\xff\xff\x7f" + b"\xa5" * 40
    app1 = b"\xff\xe1" + struct.pack(">H", len(junk) + 2) + junk
    info = probe(data[:2] + app1 + data[2:])
    assert (info.width, info.height, info.exif, info.has_gps) == (640, 427, {}, False)


def test_grey_16_bit_cmyk_and_alpha(photos: Path) -> None:
    chelsea = pyvips.Image.new_from_file(str(photos / "chelsea.png"))
    rgb16 = (chelsea.cast("ushort") * 257).cast("ushort").copy(interpretation="rgb16")
    info = probe(rgb16.pngsave_buffer(bitdepth=16))
    assert (info.colorspace, info.bit_depth, info.bands) == ("rgb16", 16, 3)

    grey = pyvips.Image.new_from_file(str(photos / "camera.png"))
    grey16 = (grey.cast("ushort") * 257).cast("ushort").copy(interpretation="grey16")
    info = probe(grey16.pngsave_buffer(bitdepth=16))
    assert (info.colorspace, info.bit_depth, info.bands) == ("grey16", 16, 1)

    info = probe(chelsea.colourspace("cmyk").jpegsave_buffer())
    assert (info.colorspace, info.bands, info.has_icc) == ("cmyk", 4, True)

    alpha = chelsea.bandjoin(255).cast("uchar").pngsave_buffer()
    info = probe(alpha)
    assert (info.bands, info.has_alpha, info.colorspace) == (4, True, "srgb")


def test_animated_gif_counts_frames(photos: Path) -> None:
    frame = pyvips.Image.new_from_file(str(photos / "coffee.png")).resize(0.05)
    strip = pyvips.Image.arrayjoin([frame, frame.invert(), frame], across=1)
    strip.set_type(pyvips.GValue.gint_type, "page-height", frame.height)
    for fmt in (".gif", ".webp"):
        info = probe(strip.write_to_buffer(fmt))
        assert (info.frames, info.width, info.height) == (3, frame.width, frame.height), fmt


@pytest.mark.parametrize(
    "data",
    [b"\x89PNG\r\n\x1a\n" + b"\x00" * 56, b"\xff\xd8\xff\xe0" + b"\x13" * 60, b"GIF89a\x01"],
    ids=["png", "jpeg", "gif"],
)
def test_unreadable_header_is_corrupt(data: bytes) -> None:
    with pytest.raises(CorruptMedia) as err:
        probe(data)
    assert err.value.code == "corrupt_media"


def test_video_is_not_an_image(videos: Path) -> None:
    with pytest.raises(UnsupportedMediaType) as err:
        probe(videos / "bikes.mp4")
    assert "video/mp4" in err.value.message
