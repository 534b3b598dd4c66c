"""Open a source image: header facts without decoding, and shrink-on-load decoding."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyvips

from vitrina.errors import CorruptMedia

Source = str | Path | bytes
_PATH = re.compile(r"/[\w.+-]+(?:/[\w.+-]+)+")


@dataclass(frozen=True)
class Header:
    width: int  # upright, i.e. after EXIF orientation
    height: int
    has_alpha: bool


def read_header(source: Source) -> Header:
    """Size and alpha from the header alone (no pixels are decoded)."""
    try:
        if isinstance(source, (bytes, bytearray, memoryview)):
            image = pyvips.Image.new_from_buffer(bytes(source), "")
        else:
            image = pyvips.Image.new_from_file(_name(source))
    except pyvips.Error as err:
        raise decode_error(err) from None
    orientation = image.get("orientation") if image.get_typeof("orientation") else 1
    w, h = (
        (image.height, image.width) if orientation in (5, 6, 7, 8) else (image.width, image.height)
    )
    return Header(w, h, bool(image.hasalpha()))


def thumbnail(source: Source, width: int, height: int, **options: Any) -> pyvips.Image:
    """libvips' thumbnail: shrink-on-load, EXIF orientation applied, lazy."""
    try:
        if isinstance(source, (bytes, bytearray, memoryview)):
            return pyvips.Image.thumbnail_buffer(bytes(source), width, height=height, **options)
        return pyvips.Image.thumbnail(_name(source), width, height=height, **options)
    except pyvips.Error as err:
        raise decode_error(err) from None


def decode_error(err: pyvips.Error) -> CorruptMedia:
    reason = " ".join(str(err.detail or err.message).split())
    reason = _PATH.sub(lambda m: m.group(0).rsplit("/", 1)[-1], reason)[:300]  # no server paths
    return CorruptMedia(
        "The image cannot be decoded; it may be truncated or damaged.", details={"reason": reason}
    )


def _name(source: str | Path) -> str:
    name = str(source)
    if "[" in name:  # libvips reads "file.jpg[options]" as load options
        raise CorruptMedia("Source file names may not contain '['.")
    return name
