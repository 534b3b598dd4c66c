"""Read what an image is from its header, and check that its pixels decode.

:func:`probe` never decodes pixels, so decompression bombs are refused from the
header alone. :func:`verify_decodes` then decodes everything with strict error
handling, so truncated and corrupt files are refused at ingest rather than
half-rendered later.
"""

from __future__ import annotations

import math
import re
import warnings
from dataclasses import asdict, dataclass
from typing import Any

import pyvips

from vitrina.errors import MediaTooLarge, UnsupportedMediaType
from vitrina.media.sniff import SNIFF_BYTES, MediaType, sniff
from vitrina.media.source import Source, decode_error, is_bytes


@dataclass(frozen=True)
class Limits:
    #: width x height x frames above this is refused before any decode (a decompression bomb)
    max_pixels: int = 100_000_000
    #: animation frames / pages above this are refused
    max_frames: int = 1_000


DEFAULT_LIMITS = Limits()


@dataclass(frozen=True)
class ImageInfo:
    format: str  # "jpeg", "png", "webp", "gif", "avif", "heic", "tiff"
    mime: str
    width: int  # as displayed, i.e. after EXIF orientation
    height: int
    orientation: int  # EXIF 1..8 (1 when absent)
    bands: int
    has_alpha: bool
    colorspace: str  # libvips interpretation: "srgb", "b-w", "cmyk", "rgb16", "grey16", ...
    bit_depth: int  # 8 or 16 (32 for float images)
    has_icc: bool
    frames: int  # pages/frames for GIF/WebP/TIFF, else 1
    exif: dict[str, str]  # curated, display-safe subset
    has_gps: bool  # location present: flagged so it is never served
    gps: dict[str, float] | None  # {"lat": ..., "lon": ...} when parseable

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


_LOADERS = {
    "jpg": "jpegload",
    "png": "pngload",
    "webp": "webpload",
    "gif": "gifload",
    "avif": "heifload",
    "heic": "heifload",
    "tiff": "tiffload",
}
_MULTI_FRAME = {"gif", "webp", "tiff"}
_BIT_DEPTH = {"uchar": 8, "char": 8, "ushort": 16, "short": 16}


def media_type(source: Source) -> MediaType:
    """Sniff ``source`` and refuse anything that is not a still image we can load."""
    if is_bytes(source):
        head = bytes(source[:SNIFF_BYTES])
    else:
        with open(source, "rb") as f:
            head = f.read(SNIFF_BYTES)
    found = sniff(head)
    if found.ext not in _LOADERS:
        raise UnsupportedMediaType(
            f"Expected an image but got {found.mime} ({found.kind}).",
            details={"detected": found.mime},
        )
    return found


def load(source: Source, found: MediaType, **options: Any) -> pyvips.Image:
    """Open ``source`` with the loader its magic bytes named (never libvips' own guess).

    Only the header is read here; pixels decode lazily when used.
    """
    loader = _LOADERS[found.ext]
    # libvips caches loads by file name: a path reused for new content (a temp file)
    # would otherwise get the old image back
    options.setdefault("revalidate", True)
    try:
        if is_bytes(source):
            return pyvips.Operation.call(f"{loader}_buffer", bytes(source), **options)
        return pyvips.Operation.call(loader, str(source), **options)
    except pyvips.Error as err:
        raise decode_error(err, source, format_name(found)) from None


def probe(source: Source, limits: Limits = DEFAULT_LIMITS) -> ImageInfo:
    """Header facts about an image; raises before any decode when it is over ``limits``."""
    found = media_type(source)
    im = load(source, found)
    frames = 1
    if found.ext in _MULTI_FRAME and im.get_typeof("n-pages"):
        frames = max(1, int(im.get("n-pages")))
    _check_limits(im.width, im.height, frames, limits)

    orientation = im.get("orientation") if im.get_typeof("orientation") else 1
    orientation = orientation if 1 <= orientation <= 8 else 1
    width, height = (im.height, im.width) if orientation >= 5 else (im.width, im.height)
    exif, gps, exif_gps = _read_exif(_blob(im, "exif-data"))
    has_gps = exif_gps or _vips_has_gps(im) or _xmp_has_gps(_blob(im, "xmp-data"))
    return ImageInfo(
        format=format_name(found),
        mime=found.mime,
        width=width,
        height=height,
        orientation=orientation,
        bands=im.bands,
        has_alpha=bool(im.hasalpha()),
        colorspace=str(im.interpretation),
        bit_depth=_BIT_DEPTH.get(str(im.format), 32),
        has_icc=bool(im.get_typeof("icc-profile-data")),
        frames=frames,
        exif=exif,
        has_gps=has_gps,
        gps=gps if has_gps else None,
    )


def verify_decodes(source: Source, limits: Limits = DEFAULT_LIMITS) -> ImageInfo:
    """Decode every pixel (as cheaply as the format allows) and fail on any decode error;
    returns the probe of the header it checked first."""
    info = probe(source, limits)
    found = media_type(source)
    options: dict[str, Any] = {"access": "sequential", "fail_on": "error"}
    if found.ext == "jpg":
        options["shrink"] = 8  # DCT scaling: every entropy-coded byte is still read
    if found.ext in _MULTI_FRAME and info.frames > 1:
        options["n"] = -1
    im = load(source, found, **options)
    try:
        im.avg()  # pulls every pixel through the decoder
    except pyvips.Error as err:
        raise decode_error(err, source, format_name(found)) from None
    return info


def _check_limits(width: int, height: int, frames: int, limits: Limits) -> None:
    pixels = width * height * frames
    details = {
        "width": width,
        "height": height,
        "frames": frames,
        "max_pixels": limits.max_pixels,
        "max_frames": limits.max_frames,
    }
    if frames > limits.max_frames:
        raise MediaTooLarge(
            f"The image has {frames} frames; at most {limits.max_frames} are accepted.",
            details=details,
        )
    if pixels > limits.max_pixels:
        raise MediaTooLarge(
            f"The image is {width}x{height} pixels"
            + (f" x {frames} frames" if frames > 1 else "")
            + f" = {pixels:,} pixels; at most {limits.max_pixels:,} are accepted.",
            details=details,
        )


def format_name(found: MediaType) -> str:
    """The format as Vitrina names it everywhere (``jpeg``, not the file suffix ``jpg``)."""
    return "jpeg" if found.ext == "jpg" else found.ext


def _blob(im: pyvips.Image, name: str) -> bytes:
    return bytes(im.get(name)) if im.get_typeof(name) else b""


def _vips_has_gps(im: pyvips.Image) -> bool:
    # libvips names the GPS IFD "ifd3"; this still works when the EXIF is too odd for Pillow
    return any(f.startswith("exif-ifd3-") for f in im.get_fields())


def _xmp_has_gps(xmp: bytes) -> bool:
    return b"GPSLatitude" in xmp or b"GPSLongitude" in xmp


# --- EXIF: a curated, display-safe subset ----------------------------------------------

_IFD0_TAGS = {
    0x010F: "Make",
    0x0110: "Model",
    0x0131: "Software",
    0x0132: "DateTime",
    0x013B: "Artist",
    0x8298: "Copyright",
}
_EXIF_TAGS = {
    0x9003: "DateTimeOriginal",
    0x9011: "OffsetTimeOriginal",
    0xA433: "LensMake",
    0xA434: "LensModel",
    0x829A: "ExposureTime",
    0x829D: "FNumber",
    0x8827: "ISOSpeedRatings",
    0x920A: "FocalLength",
    0xA405: "FocalLengthIn35mmFilm",
    0x9209: "Flash",
}
_EXIF_IFD, _GPS_IFD = 0x8769, 0x8825
_MAX_VALUE_CHARS = 200
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _read_exif(blob: bytes) -> tuple[dict[str, str], dict[str, float] | None, bool]:
    """(curated tags, parsed GPS position, whether a GPS block is present)."""
    if not blob:
        return {}, None, False
    from PIL import Image  # only needed for EXIF parsing

    out: dict[str, str] = {}
    try:
        with warnings.catch_warnings():  # Pillow warns about the broken EXIF we tolerate
            warnings.simplefilter("ignore")
            exif = Image.Exif()
            exif.load(blob)
            for ifd, tags in ((exif, _IFD0_TAGS), (exif.get_ifd(_EXIF_IFD), _EXIF_TAGS)):
                for tag, name in tags.items():
                    if tag in ifd and (text := _text(name, ifd[tag])):
                        out[name] = text
            gps_ifd = exif.get_ifd(_GPS_IFD)
    # hostile or broken EXIF must not fail the probe (GPS is also checked through libvips)
    except Exception:  # noqa: BLE001
        return {}, None, False
    return out, _gps(gps_ifd), bool(gps_ifd)


def _text(name: str, value: Any) -> str:
    if isinstance(value, bytes):
        value = value.decode("latin-1")
    if isinstance(value, tuple):
        value = " ".join(_text(name, v) for v in value)
    elif name == "ExposureTime" and 0 < float(value) < 1:
        value = f"1/{round(1 / float(value))}"
    elif not isinstance(value, str):
        number = float(value)
        value = f"{number:g}" if math.isfinite(number) else ""
    return _CONTROL.sub("", value).strip()[:_MAX_VALUE_CHARS]


def _gps(ifd: dict[int, Any]) -> dict[str, float] | None:
    try:
        lat = _degrees(ifd[2], ifd.get(1, "N"), "S")
        lon = _degrees(ifd[4], ifd.get(3, "E"), "W")
    except (KeyError, TypeError, ValueError, ZeroDivisionError):
        return None
    if not (math.isfinite(lat) and math.isfinite(lon) and abs(lat) <= 90 and abs(lon) <= 180):
        return None
    return {"lat": round(lat, 7), "lon": round(lon, 7)}


def _degrees(dms: Any, ref: Any, negative: str) -> float:
    d, m, s = (float(x) for x in dms)
    ref = ref.decode("latin-1") if isinstance(ref, bytes) else str(ref)
    value = d + m / 60 + s / 3600
    return -value if ref.strip().upper().startswith(negative) else value
