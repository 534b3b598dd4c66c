"""A digest of an image's decoded pixels at full size, upright.

Two files with the same digest show the same picture pixel for pixel, whatever their
format or metadata: a PNG or TIFF made from a JPEG, a JPEG with a caption added. It
is a full decode, so it is taken only when two assets already look identical
(:mod:`vitrina.search.duplicates`), never for every upload.
"""

from __future__ import annotations

import pyvips
import xxhash

from vitrina.media.probe import DEFAULT_LIMITS, Limits, format_name, load, media_type, probe
from vitrina.media.source import Source, decode_error


def pixel_digest(source: Source, limits: Limits = DEFAULT_LIMITS) -> str:
    """128-bit hex digest of the first frame's upright pixels, their size, bands and
    sample format; refuses an image over ``limits`` before decoding it."""
    probe(source, limits)
    found = media_type(source)
    image = load(source, found, fail_on="error").autorot()  # random access: autorot turns it
    try:
        pixels = image.write_to_memory()
    except pyvips.Error as err:
        raise decode_error(err, source, format_name(found)) from None
    digest = xxhash.xxh3_128(f"{image.width}x{image.height}x{image.bands}:{image.format}:".encode())
    digest.update(pixels)
    return digest.hexdigest()
