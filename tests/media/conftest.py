"""Real photos and images made from them for the media tests."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import pytest
import pyvips

ROOT = Path(__file__).resolve().parents[2]
PHOTOS = ROOT / "data" / "photos"
VIDEO = ROOT / "data" / "video"
HOSTILE = ROOT / "tests" / "data" / "hostile"

# Transforms that make the *stored* pixels for each EXIF orientation, so that a viewer
# applying the orientation shows the original upright picture (the inverse of the tag).
STORED_FOR = {
    1: lambda im: im,
    2: lambda im: im.fliphor(),
    3: lambda im: im.rot180(),
    4: lambda im: im.flipver(),
    5: lambda im: im.rot90().fliphor(),  # transpose: its own inverse
    6: lambda im: im.rot270(),
    7: lambda im: im.rot270().fliphor(),  # transverse: its own inverse
    8: lambda im: im.rot90(),
}


@pytest.fixture(scope="session")
def photos() -> Path:
    return PHOTOS


@pytest.fixture(scope="session")
def videos() -> Path:
    return VIDEO


@pytest.fixture(scope="session")
def oriented_jpeg() -> Callable[[int], bytes]:
    """JPEG bytes of chelsea.png (451x300) stored rotated/flipped with EXIF orientation n."""
    upright = pyvips.Image.new_from_file(str(PHOTOS / "chelsea.png")).copy_memory()

    def make(orientation: int) -> bytes:
        stored = STORED_FOR[orientation](upright).copy()
        stored.set_type(pyvips.GValue.gint_type, "orientation", orientation)
        return stored.jpegsave_buffer(Q=95)

    return make


@pytest.fixture(scope="session")
def gps_jpeg() -> bytes:
    """A JPEG with camera EXIF and a GPS position (52°22'12" N, 4°53'30" W), written by Pillow."""
    from PIL import Image

    exif = Image.Exif()
    exif[0x010F] = "Vitrina Test Cam"  # Make
    exif[0x0110] = "Model X"  # Model
    exif.get_ifd(0x8769)[0x9003] = "2024:05:01 12:00:00"  # DateTimeOriginal
    exif.get_ifd(0x8769)[0xA434] = "50mm f/1.8"  # LensModel
    exif.get_ifd(0x8769)[0x829A] = 1 / 125  # ExposureTime
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2] = "N", (52.0, 22.0, 12.0)
    gps[3], gps[4] = "W", (4.0, 53.0, 30.0)
    with Image.open(PHOTOS / "rocket.jpg") as im:
        buf = io.BytesIO()
        im.convert("RGB").save(buf, "JPEG", exif=exif, quality=90)
    return buf.getvalue()
