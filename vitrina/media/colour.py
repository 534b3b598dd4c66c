"""Bring any decoded image to 8-bit sRGB (or 8-bit grey), honouring its ICC profile.

An embedded profile that already is sRGB is skipped (the common case); other RGB
profiles (Adobe RGB, Display P3, ...) are converted from, by :mod:`icc`'s cached
tables when they are matrix/TRC profiles and by LittleCMS otherwise; CMYK, Lab and
16-bit images are converted too.
"""

from __future__ import annotations

from functools import lru_cache

import pyvips

from vitrina.media import icc

_ICC = "icc-profile-data"
_KEEP = ("srgb", "b-w")


def to_srgb(image: pyvips.Image) -> pyvips.Image:
    space = str(image.interpretation)
    if space in ("srgb", "rgb16", "cmyk") and image.get_typeof(_ICC):
        profile = image.get(_ICC)
        if _profile_space(profile) == _space_of(image) and not is_srgb_profile(profile):
            fast = icc.convert(image, profile) if image.bands in (3, 4) else None
            image = fast if fast is not None else image.icc_transform("srgb", embedded=True)
            space = str(image.interpretation)
    if space not in _KEEP:
        image = image.colourspace("srgb")
    if image.format != "uchar":
        image = image.cast("uchar")
    return image


def to_rgb(image: pyvips.Image) -> pyvips.Image:
    """Three colour bands (grey is widened) so that colours can be drawn onto it."""
    return image.colourspace("srgb") if image.bands < 3 else image


@lru_cache(maxsize=64)  # a handful of profiles come back on every request
def is_srgb_profile(profile: bytes) -> bool:
    """Whether an ICC profile describes itself as sRGB (its ``desc`` tag)."""
    return b"srgb" in _description(profile).lower()


def _space_of(image: pyvips.Image) -> bytes:
    return b"CMYK" if str(image.interpretation) == "cmyk" else b"RGB "


def _profile_space(profile: bytes) -> bytes:
    return bytes(profile[16:20])


def _description(profile: bytes) -> bytes:
    """The text of the ``desc`` tag (ICC v2 'desc' or v4 'mluc'); b'' if absent."""
    data = bytes(profile)
    if len(data) < 132:
        return b""
    count = int.from_bytes(data[128:132], "big")
    for i in range(min(count, 200)):
        entry = 132 + 12 * i
        if data[entry : entry + 4] != b"desc":
            continue
        off = int.from_bytes(data[entry + 4 : entry + 8], "big")
        size = int.from_bytes(data[entry + 8 : entry + 12], "big")
        tag = data[off : off + min(size, 512)]
        if tag[:4] == b"mluc":  # UTF-16BE records: drop the zero high bytes
            return tag[28:].replace(b"\x00", b"")
        return tag[12:]
    return b""
