"""Fonts by family name, from the OFL font packages installed with the ``creative``
extra (``fontpkg-*``): a family resolves to a file, a size to a cached Pillow font
shaped by raqm (HarfBuzz + FriBiDi), and a text to the first family that has a glyph
for each of its characters."""

from __future__ import annotations

import threading
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from PIL import ImageFont

from vitrina.errors import InvalidInput


class UnknownFont(InvalidInput):
    """A brand kit names a font family that no installed font package provides."""

    code = "unknown_font"


@dataclass(frozen=True)
class Face:
    family: str
    path: Path
    weight: int


@lru_cache(maxsize=64)
def face(family: str, weight: int = 400) -> Face:
    """The installed file of ``family`` nearest to ``weight``."""
    import fontpkg

    try:
        path = fontpkg.path(family, weight, nearest=True)
    except fontpkg.FontpkgError:
        raise UnknownFont(
            f"No installed font package provides the family {family!r}.",
            details={"field": "fonts", "family": family},
        ) from None
    return Face(family, Path(path), weight)


# a FreeType face must not be used by two threads at once: each thread keeps its own
_local = threading.local()
MAX_CACHED = 256


def truetype(f: Face, px: int) -> ImageFont.FreeTypeFont:
    """The font at ``px`` with raqm layout; variable fonts set to the face's weight."""
    cache = _local.__dict__.setdefault("fonts", {})
    font = cache.get((f, px))
    if font is None:
        if len(cache) >= MAX_CACHED:
            cache.clear()
        font = cache[(f, px)] = _load(f, px)
    return font


def _load(f: Face, px: int) -> ImageFont.FreeTypeFont:
    font = ImageFont.truetype(str(f.path), px, layout_engine=ImageFont.Layout.RAQM)
    try:
        axes = font.get_variation_axes()
    except OSError:  # not a variable font
        return font
    values = []
    for axis in axes:
        name = axis["name"].decode() if isinstance(axis["name"], bytes) else axis["name"]
        values.append(float(f.weight) if name.lower() in ("weight", "wght") else axis["default"])
    font.set_variation_by_axes(values)
    return font


@lru_cache(maxsize=64)
def _cmap(path: Path) -> frozenset[int]:
    from fontTools.ttLib import TTFont

    return frozenset(TTFont(str(path), lazy=True).getBestCmap())


def _needs_glyph(ch: str) -> bool:
    # spaces, joiners and direction marks are shaped away rather than drawn
    return not (ch.isspace() or unicodedata.category(ch) in ("Cf", "Cc"))


def missing(f: Face, text: str) -> int:
    """How many characters of ``text`` the face has no glyph for."""
    cmap = _cmap(f.path)
    return sum(1 for ch in text if _needs_glyph(ch) and ord(ch) not in cmap)


def pick(chain: tuple[Face, ...], text: str) -> Face:
    """The first face covering all of ``text``; else the one missing fewest characters.

    One face per text block, not per character: raqm shapes a run in one font, and
    mixing fonts inside a right-to-left run would break its joining."""
    best = min(chain, key=lambda f: (missing(f, text), chain.index(f)))
    return best
