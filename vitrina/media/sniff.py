"""Decide what a file is from its leading bytes.

Names and declared content types lie; magic bytes decide. Only the types the
platform can process are accepted, everything else is refused with a 415 that
lists what is accepted.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from vitrina.errors import InvalidInput, UnsupportedMediaType

#: how many leading bytes :func:`sniff` needs to decide
SNIFF_BYTES = 64


@dataclass(frozen=True)
class MediaType:
    mime: str
    kind: str  # "image" | "video"
    ext: str  # "jpg", "png", "webp", "gif", "avif", "heic", "tiff", "mp4", "mov", "webm", "mkv"


JPEG = MediaType("image/jpeg", "image", "jpg")
PNG = MediaType("image/png", "image", "png")
WEBP = MediaType("image/webp", "image", "webp")
GIF = MediaType("image/gif", "image", "gif")
AVIF = MediaType("image/avif", "image", "avif")
HEIC = MediaType("image/heic", "image", "heic")
HEIF = MediaType("image/heif", "image", "heic")
TIFF = MediaType("image/tiff", "image", "tiff")
MP4 = MediaType("video/mp4", "video", "mp4")
MOV = MediaType("video/quicktime", "video", "mov")
WEBM = MediaType("video/webm", "video", "webm")
MATROSKA = MediaType("video/x-matroska", "video", "mkv")

#: every type sniff() can return, for error messages and documentation
ACCEPTED: tuple[MediaType, ...] = (
    JPEG,
    PNG,
    WEBP,
    GIF,
    AVIF,
    HEIC,
    HEIF,
    TIFF,
    MP4,
    MOV,
    WEBM,
    MATROSKA,
)

_AVIF_BRANDS = {b"avif", b"avis"}
_HEIC_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs"}
_HEIF_BRANDS = {b"mif1", b"msf1", b"mif2"}
# audio-only and still-camera raw containers share the ISO box format but are not media we process
_REFUSED_BRANDS = {b"M4A ", b"M4B ", b"M4P ", b"crx ", b"F4A ", b"F4B "}
_VIDEO_BRANDS = {
    b"isom",
    b"iso2",
    b"iso3",
    b"iso4",
    b"iso5",
    b"iso6",
    b"iso8",
    b"iso9",
    b"mp41",
    b"mp42",
    b"mp71",
    b"avc1",
    b"av01",
    b"hvc1",
    b"hev1",
    b"dash",
    b"M4V ",
    b"M4VH",
    b"M4VP",
    b"3gp4",
    b"3gp5",
    b"3gp6",
    b"3gp7",
    b"3g2a",
    b"3g2b",
    b"3g2c",
    b"f4v ",
    b"mmp4",
    b"MSNV",
    b"XAVC",
    b"NDAS",
    b"kddi",
    b"CAEP",
    b"qt  ",
}
# QuickTime files written before the ftyp box existed start with one of these atoms
_OLD_QUICKTIME_ATOMS = {b"moov", b"mdat", b"wide", b"pnot"}


def sniff(head: bytes) -> MediaType:
    """The media type of a file from its first :data:`SNIFF_BYTES` bytes."""
    head = bytes(head[:SNIFF_BYTES])
    if not head:
        raise InvalidInput("The file is empty.", code="empty_file")
    found = _image(head) or _iso_bmff(head) or _matroska(head)
    if found is None:
        raise _refuse(head)
    return found


def _image(head: bytes) -> MediaType | None:
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return GIF
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return WEBP
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return TIFF
    return None


def _iso_bmff(head: bytes) -> MediaType | None:
    """HEIF/AVIF images and MP4/MOV videos: an ISO base media file with an ftyp box."""
    if head[4:8] in _OLD_QUICKTIME_ATOMS:
        return MOV
    if head[4:8] != b"ftyp" or len(head) < 12:
        return None
    size = int.from_bytes(head[:4], "big")
    end = min(len(head), size if size >= 16 else len(head))
    major = head[8:12]
    # compatible brands follow the 4-byte minor version
    brands = [major] + [head[i : i + 4] for i in range(16, end - 3, 4)]
    if major in _REFUSED_BRANDS:
        return None
    if any(b in _AVIF_BRANDS for b in brands):
        return AVIF
    if any(b in _HEIC_BRANDS for b in brands):
        return HEIC
    if any(b in _HEIF_BRANDS for b in brands):
        return HEIF
    if major == b"qt  ":
        return MOV
    if any(b in _VIDEO_BRANDS for b in brands):
        return MP4
    return None


def _matroska(head: bytes) -> MediaType | None:
    if not head.startswith(b"\x1a\x45\xdf\xa3"):  # EBML header
        return None
    # the DocType element (0x4282) names the flavour; it sits within the first bytes
    if b"webm" in head:
        return WEBM
    return MATROSKA


def _refuse(head: bytes) -> UnsupportedMediaType:
    return refusal(head, ACCEPTED)


def refusal(head: bytes, accepted_types: Iterable[MediaType]) -> UnsupportedMediaType:
    """The 415 for a file starting with ``head``, listing ``accepted_types`` (the
    types of the media kinds a server has enabled) as those it accepts."""
    accepted = sorted({t.mime for t in accepted_types})
    detected = _describe(head)
    what = f"This looks like {detected}, which is" if detected else "This file type is"
    return UnsupportedMediaType(
        f"{what} not supported. Accepted types: {', '.join(accepted)}.",
        details={"accepted": accepted, "detected": detected},
    )


def _describe(head: bytes) -> str | None:
    """A best-effort name for a refused file, to make the error message useful."""
    for magic, name in (
        (b"%PDF-", "a PDF document"),
        (b"PK\x03\x04", "a ZIP archive"),
        (b"BM", "a BMP image"),
        (b"\xff\x0a", "a JPEG XL image"),
        (b"\x00\x00\x00\x0cJXL ", "a JPEG XL image"),
    ):
        if head.startswith(magic):
            return name
    if head[4:8] == b"ftyp":
        return f"an ISO media file of brand {head[8:12].decode('latin-1')!r}"
    if not _is_text(head):
        return None
    lower = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if lower.startswith(b"<svg") or (lower.startswith(b"<?xml") and b"<svg" in lower):
        return "an SVG image"
    if lower.startswith((b"<!doctype html", b"<html")):
        return "an HTML page"
    if lower.startswith(b"<?xml"):
        return "an XML document"
    return "a text file"


def _is_text(head: bytes) -> bool:
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as err:
        # the cut at SNIFF_BYTES may split a multi-byte character
        if err.start < len(head) - 3:
            return False
        text = head[: err.start].decode("utf-8")
    return all(c.isprintable() or c in "\t\r\n\f" for c in text)
