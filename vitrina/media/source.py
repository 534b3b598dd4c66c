"""A source image and how libvips opens it: header facts without decoding,
shrink-on-load decoding, and the one client-safe error for bytes that do not decode."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyvips

from vitrina.errors import CorruptMedia

#: an image as a file (path) or in memory (bytes); every media operation takes one
Source = str | Path | bytes
_PATH = re.compile(r"/[\w.+-]+(?:/[\w.+-]+)+")


@dataclass(frozen=True)
class Header:
    width: int  # upright, i.e. after EXIF orientation
    height: int
    has_alpha: bool


def is_bytes(source: Source) -> bool:
    return isinstance(source, (bytes, bytearray, memoryview))


def read_header(source: Source) -> Header:
    """Size and alpha from the header alone (no pixels are decoded)."""
    try:
        if is_bytes(source):
            image = pyvips.Image.new_from_buffer(bytes(source), "")
        else:
            image = pyvips.Image.new_from_file(_name(source))
    except pyvips.Error as err:
        raise decode_error(err, source) from None
    orientation = image.get("orientation") if image.get_typeof("orientation") else 1
    w, h = (
        (image.height, image.width) if orientation in (5, 6, 7, 8) else (image.width, image.height)
    )
    return Header(w, h, bool(image.hasalpha()))


def thumbnail(
    source: Source, width: int, height: int, *, format_name: str | None = None, **options: Any
) -> pyvips.Image:
    """libvips' thumbnail: shrink-on-load, EXIF orientation applied, lazy.
    ``format_name`` (when known) names the format in the error."""
    try:
        if is_bytes(source):
            return pyvips.Image.thumbnail_buffer(bytes(source), width, height=height, **options)
        return pyvips.Image.thumbnail(_name(source), width, height=height, **options)
    except pyvips.Error as err:
        raise decode_error(err, source, format_name) from None


def decode_error(
    err: pyvips.Error, source: Source | None = None, format_name: str | None = None
) -> CorruptMedia:
    """A client-safe :class:`CorruptMedia` for a libvips failure: no server paths in it.

    With ``format_name`` (known at ingest, where magic bytes named it) the message says
    which format is damaged and what to do; without it, that the image cannot be decoded.
    """
    reason = " ".join(str(err.detail or err.message).split())
    if source is not None and not is_bytes(source):
        reason = reason.replace(str(source), Path(source).name)
    reason = _PATH.sub(lambda m: m.group(0).rsplit("/", 1)[-1], reason)[:300]
    if format_name is None:
        return CorruptMedia(
            "The image cannot be decoded; it may be truncated or damaged.",
            details={"reason": reason},
        )
    return CorruptMedia(
        f"The {format_name.upper()} file is damaged and cannot be decoded ({reason}). It may be "
        "truncated or corrupted in transfer: export or upload the original again.",
        details={"format": format_name, "reason": reason},
    )


def _name(source: str | Path) -> str:
    name = str(source)
    if "[" in name:  # libvips reads "file.jpg[options]" as load options
        raise CorruptMedia("Source file names may not contain '['.")
    return name
