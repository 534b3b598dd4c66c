"""Derivatives (web renditions) and small analysis previews, with libvips.

Every output is upright (EXIF orientation applied), 8-bit sRGB (an embedded ICC
profile is honoured; CMYK and 16-bit sources are converted) and carries no
metadata at all, so camera location and serial numbers are never served.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from numbers import Integral
from typing import Any

import numpy
import pyvips

from vitrina.errors import CorruptMedia, InvalidInput
from vitrina.media.encode import MIME, RENDITION, encode
from vitrina.media.probe import DEFAULT_LIMITS, ImageInfo, Limits, probe
from vitrina.media.source import Source, decode_error, thumbnail


@dataclass(frozen=True)
class Rendition:
    width: int
    height: int
    format: str  # "jpeg" | "webp" | "avif"
    mime: str
    data: bytes


#: derivative formats (their encoder options: :data:`vitrina.media.encode.RENDITION`)
FORMATS = ("jpeg", "webp", "avif")
_MAX_WIDTH = 16_384  # libvips/JPEG hard limit is 65,535; nobody serves wider renditions
_WHITE = [255.0]


def available_formats() -> frozenset[str]:
    """Which output formats this libvips build can encode."""
    return _available_formats()


@lru_cache(maxsize=1)
def _available_formats() -> frozenset[str]:
    probe_image = pyvips.Image.black(8, 8, bands=3).cast("uchar")
    found = set()
    for fmt in FORMATS:
        try:
            if _encode(probe_image, fmt, 50):
                found.add(fmt)
        except pyvips.Error:
            pass
    return frozenset(found)


def make_derivatives(
    source: Source,
    widths: Sequence[int],
    formats: Sequence[str],
    quality: int = 80,
    *,
    limits: Limits = DEFAULT_LIMITS,
) -> list[Rendition]:
    """Renditions of ``source`` at each width below its display width, in each format.

    Never upscales: widths at or above the source display width are dropped and, if
    none remain, one rendition at the source width is made. The source is decoded
    once at the largest width (with shrink-on-load) and the smaller widths are
    resized from that. Alpha is kept for WebP/AVIF and flattened on white for JPEG.
    Sorted by (width, format). Decoding here is lenient (a truncated tail renders
    grey): :func:`~vitrina.media.probe.verify_decodes` is the gate for damaged files.
    """
    fmts = _check_formats(formats)
    wanted = _check_widths(widths)
    if not 1 <= quality <= 100:
        raise InvalidInput(f"quality must be within 1..100, got {quality}.")
    info = probe(source, limits)
    kept = sorted(w for w in wanted if w < info.width) or [info.width]

    top = kept[-1]
    height = _height(top, info.width, info.height)
    base = _thumbnail(source, info, top, height)
    out = []
    for width in kept:
        height = _height(width, info.width, info.height)
        image = base if width == base.width else _resize(base, width, height)
        for fmt in fmts:
            data = _encode(image, fmt, quality)
            out.append(Rendition(width, height, fmt, MIME[fmt], data))
    return sorted(out, key=lambda r: (r.width, r.format))


def preview_array(
    source: Source, size: int = 256, *, limits: Limits = DEFAULT_LIMITS
) -> numpy.ndarray:
    """HxWx3 uint8 sRGB, upright, alpha flattened on white, longest side <= ``size``."""
    if size < 1:
        raise InvalidInput(f"size must be positive, got {size}.")
    info = probe(source, limits)
    image = _thumbnail(source, info, size, size, size="down")  # 8-bit sRGB, in memory
    if image.hasalpha():
        image = image.flatten(background=_WHITE * 3).cast("uchar")
    return numpy.ascontiguousarray(image.numpy().reshape(image.height, image.width, 3))


def rendition_preview(jpeg: bytes, size: int = 256) -> numpy.ndarray:
    """:func:`preview_array` of one of our own JPEG renditions.

    A rendition is already upright 8-bit sRGB without alpha or metadata, so a plain
    decode and an area-average shrink give the preview (within ~2 levels of
    libvips' Lanczos) in a third of the time libvips' general thumbnail path takes.
    """
    import cv2

    array = cv2.imdecode(numpy.frombuffer(jpeg, numpy.uint8), cv2.IMREAD_COLOR_RGB)
    if array is None:
        raise CorruptMedia("The JPEG rendition cannot be decoded: make the derivatives again.",
                           details={"format": "jpeg"})
    h, w = array.shape[:2]
    scale = size / max(h, w)
    if scale < 1:
        dsize = (max(1, round(w * scale)), max(1, round(h * scale)))
        array = cv2.resize(array, dsize, interpolation=cv2.INTER_AREA)
    return numpy.ascontiguousarray(array)


def _thumbnail(
    source: Source, info: ImageInfo, width: int, height: int, size: str = "force"
) -> pyvips.Image:
    """Decode once into memory with shrink-on-load, upright, as 8-bit sRGB."""
    options: dict[str, Any] = {"size": size}
    if info.has_icc or info.colorspace == "cmyk":
        # an ICC transform through lcms; skipped otherwise as it would triple the time
        # of an untagged (hence sRGB) photo for no change
        options["output_profile"] = "srgb"
    image = thumbnail(source, width, height, format_name=info.format, **options)
    try:
        if image.interpretation != "srgb":  # grey, 16-bit and untagged CMYK inputs
            image = image.colourspace("srgb")
        if image.format != "uchar":
            image = image.cast("uchar")
        return image.copy_memory()  # decode errors surface here, inside the try
    except pyvips.Error as err:
        raise decode_error(err, source, info.format) from None


def _resize(image: pyvips.Image, width: int, height: int) -> pyvips.Image:
    hscale, vscale = width / image.width, height / image.height
    if image.hasalpha():  # premultiply so transparent pixels do not bleed colour into edges
        resized = image.premultiply().resize(hscale, vscale=vscale).unpremultiply()
        return resized.cast("uchar").copy_memory()
    return image.resize(hscale, vscale=vscale).copy_memory()


def _encode(image: pyvips.Image, fmt: str, quality: int) -> bytes:
    if fmt == "jpeg" and image.hasalpha():  # JPEG has no alpha: flattened on white
        image = image.flatten(background=_WHITE * (image.bands - 1))
    return encode(image, fmt, quality, RENDITION)


def _height(width: int, src_width: int, src_height: int) -> int:
    return max(1, int(src_height * width / src_width + 0.5))


def _check_formats(formats: Sequence[str]) -> list[str]:
    if isinstance(formats, str) or not formats:
        raise InvalidInput("formats must be a non-empty list such as ['webp', 'jpeg'].")
    unknown = sorted(set(formats) - set(FORMATS))
    if unknown:
        raise InvalidInput(
            f"Unknown output format(s) {unknown}; known: {list(FORMATS)}.",
            code="unsupported_output_format",
        )
    missing = sorted(set(formats) - available_formats())
    if missing:
        raise InvalidInput(
            f"This libvips cannot encode {missing}; available: {sorted(available_formats())}.",
            code="unsupported_output_format",
        )
    return sorted(set(formats))


def _check_widths(widths: Sequence[int]) -> set[int]:
    if isinstance(widths, (str, bytes)) or not widths:
        raise InvalidInput("widths must be a non-empty list of positive integers.")
    for w in widths:
        if isinstance(w, bool) or not isinstance(w, Integral) or not 1 <= w <= _MAX_WIDTH:
            raise InvalidInput(f"Each width must be an integer within 1..{_MAX_WIDTH}, got {w!r}.")
    return {int(w) for w in widths}
