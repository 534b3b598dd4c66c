"""Real photos and images made from them for the media tests."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import pyvips
from PIL import Image

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


# --- for the transformation engine: derived sources and decoding helpers ---------------
def _pixels(data: bytes | pyvips.Image) -> np.ndarray:
    image = pyvips.Image.new_from_buffer(data, "") if isinstance(data, bytes) else data
    array = image.numpy().astype(np.float64)
    return array[..., None] if array.ndim == 2 else array


@pytest.fixture(scope="session")
def pixels():
    """HxWxC float array of an encoded image (bytes) or a pyvips image."""
    return _pixels


@pytest.fixture(scope="session")
def made(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory of sources derived from the real photos (built once per run)."""
    out = tmp_path_factory.mktemp("delivery-sources")
    rocket = pyvips.Image.new_from_file(str(PHOTOS / "rocket.jpg"))
    # a portrait source: the rocket photo turned a quarter (427x640)
    rocket.rot("d90").pngsave(str(out / "portrait.png"))
    coffee = pyvips.Image.new_from_file(str(PHOTOS / "coffee.png"))
    # CMYK JPEGs: one with libvips' CMYK profile embedded, one untagged (Pillow's naive CMYK)
    coffee.icc_export(output_profile="cmyk").jpegsave(str(out / "cmyk_icc.jpg"), Q=95)
    Image.open(PHOTOS / "coffee.png").convert("CMYK").save(out / "cmyk_plain.jpg", quality=95)
    # 16-bit PNG of the same pixels
    (coffee.cast("ushort") * 257).cast("ushort").copy(interpretation="rgb16").pngsave(
        str(out / "coffee16.png"), bitdepth=16
    )
    # Display P3 pixels with their profile embedded: honouring it gives coffee back
    coffee.icc_export(output_profile="p3").pngsave(str(out / "coffee_p3.png"))
    _private_jpeg(out / "private.jpg")
    return out


def _private_jpeg(path: Path) -> None:
    """A JPEG carrying EXIF (camera, GPS position), XMP and an ICC profile."""
    img = Image.open(PHOTOS / "chelsea.png").convert("RGB")
    exif = Image.Exif()
    exif[0x010F] = "CameraMaker"  # Make
    exif[0x0110] = "SecretCam 3000"  # Model
    exif[0x8825] = {1: "N", 2: (52.0, 22.0, 11.0), 3: "E", 4: (4.0, 53.0, 7.0)}  # GPS
    icc = pyvips.Image.new_from_file(str(PHOTOS / "rocket.jpg")).get("icc-profile-data")
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=95, exif=exif.tobytes(), icc_profile=icc)
    tagged = pyvips.Image.new_from_buffer(buf.getvalue(), "").copy()
    tagged.set_type(pyvips.GValue.blob_type, "xmp-data", b'<x:xmpmeta xmlns:x="adobe:ns:meta/">'
                    b'<exif:GPSLatitude>52,22.18N</exif:GPSLatitude></x:xmpmeta>')  # fmt: skip
    tagged.jpegsave(str(path), Q=95, keep="all")


# Pillow's transposition that an EXIF orientation asks a viewer to apply, and its inverse
ORIENT = {
    2: (Image.Transpose.FLIP_LEFT_RIGHT, Image.Transpose.FLIP_LEFT_RIGHT),
    3: (Image.Transpose.ROTATE_180, Image.Transpose.ROTATE_180),
    4: (Image.Transpose.FLIP_TOP_BOTTOM, Image.Transpose.FLIP_TOP_BOTTOM),
    5: (Image.Transpose.TRANSPOSE, Image.Transpose.TRANSPOSE),
    6: (Image.Transpose.ROTATE_270, Image.Transpose.ROTATE_90),
    7: (Image.Transpose.TRANSVERSE, Image.Transpose.TRANSVERSE),
    8: (Image.Transpose.ROTATE_90, Image.Transpose.ROTATE_270),
}


@pytest.fixture(scope="session")
def oriented(made: Path) -> dict[int, Path]:
    """chelsea.png stored sideways/mirrored with the EXIF orientation that undoes it."""
    upright = Image.open(PHOTOS / "chelsea.png").convert("RGB")
    files = {}
    for k in range(1, 9):
        stored = upright if k == 1 else upright.transpose(ORIENT[k][1])
        exif = Image.Exif()
        exif[0x0112] = k
        path = made / f"orient{k}.jpg"
        stored.save(path, quality=95, exif=exif.tobytes())
        # the fixture is right only if a viewer (Pillow) shows it upright again
        from PIL import ImageOps

        shown = ImageOps.exif_transpose(Image.open(path))
        assert shown.size == upright.size
        files[k] = path
    return files
