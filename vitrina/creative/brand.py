"""A brand kit: logo, palette, fonts, legibility and placement rules, words to avoid.

Built from a dict (JSON) by :func:`BrandKit.from_dict`, which names the field at fault
in every error. Versioned: a rendered creative records the kit's id and version."""

from __future__ import annotations

import base64
import binascii
import io
import re
from dataclasses import dataclass
from typing import Any

from PIL import Image

from vitrina.creative import fonts
from vitrina.creative.contrast import contrast_ratio
from vitrina.errors import InvalidInput

Colour = tuple[int, int, int]
PALETTE_KEYS = ("primary", "secondary", "background", "text", "accent")
_HEX = re.compile(r"#([0-9a-fA-F]{6})")
MAX_LOGO_BYTES = 2 * 1024 * 1024
MAX_LOGO_SIDE = 4096


class InvalidBrandKit(InvalidInput):
    code = "invalid_brand_kit"


def _fail(field: str, message: str) -> InvalidBrandKit:
    return InvalidBrandKit(f"Brand kit field {field!r}: {message}", details={"field": field})


def parse_colour(value: Any, field: str) -> Colour:
    if not isinstance(value, str) or not _HEX.fullmatch(value):
        raise _fail(field, "expected a colour as #rrggbb.")
    n = int(value[1:], 16)
    return (n >> 16 & 255, n >> 8 & 255, n & 255)


@dataclass(frozen=True)
class BrandKit:
    id: str
    version: int
    name: str
    logo_png: bytes
    palette: dict[str, Colour]
    headline_font: str
    body_font: str
    fallback_fonts: tuple[str, ...]
    min_contrast: float = 4.5
    safe_margin: float = 0.05  # of the placement's short side
    logo_clear_space: float = 0.25  # of the logo's height, on every side
    forbidden_words: tuple[str, ...] = ()
    allowed_claims: tuple[str, ...] = ()

    def __hash__(self) -> int:  # dict fields: hash by identity of the version
        return hash((self.id, self.version))

    def font_chain(self, role: str) -> tuple[fonts.Face, ...]:
        """Faces to try for a slot, brand font first, then the fallbacks in order."""
        first = self.headline_font if role in ("headline", "price", "cta") else self.body_font
        weight = 700 if role in ("headline", "price", "cta") else 400
        names = (first, *(f for f in self.fallback_fonts if f != first))
        return tuple(fonts.face(n, weight) for n in names)

    @classmethod
    def from_dict(cls, data: Any) -> BrandKit:
        if not isinstance(data, dict):
            raise _fail("$", "expected an object.")
        known = {"id", "version", "name", "logo", "palette", "fonts", "min_contrast",
                 "safe_margin", "logo_clear_space", "forbidden_words", "allowed_claims"}
        extra = sorted(set(data) - known)
        if extra:
            raise _fail(extra[0], "unknown field.")
        kit_id = _string(data, "id")
        version = data.get("version")
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            raise _fail("version", "expected a positive integer.")
        palette_in = data.get("palette")
        if not isinstance(palette_in, dict):
            raise _fail("palette", f"expected an object with {', '.join(PALETTE_KEYS)}.")
        palette = {}
        for key in PALETTE_KEYS:
            if key not in palette_in:
                raise _fail(f"palette.{key}", "missing.")
            palette[key] = parse_colour(palette_in[key], f"palette.{key}")
        fonts_in = data.get("fonts")
        if not isinstance(fonts_in, dict):
            raise _fail("fonts", "expected an object with headline, body and fallbacks.")
        headline, body = _string(fonts_in, "headline", "fonts."), _string(fonts_in, "body", "fonts.")
        fallbacks = _strings(fonts_in, "fallbacks", "fonts.")
        for family in (headline, body, *fallbacks):
            try:
                fonts.face(family)
            except fonts.UnknownFont as err:
                raise _fail("fonts", str(err)) from None
        kit = cls(
            id=kit_id, version=version, name=_string(data, "name"),
            logo_png=_logo(data.get("logo")), palette=palette,
            headline_font=headline, body_font=body, fallback_fonts=fallbacks,
            min_contrast=_number(data, "min_contrast", 4.5, 1.0, 21.0),
            safe_margin=_number(data, "safe_margin", 0.05, 0.0, 0.25),
            logo_clear_space=_number(data, "logo_clear_space", 0.25, 0.0, 2.0),
            forbidden_words=_strings(data, "forbidden_words"),
            allowed_claims=_strings(data, "allowed_claims"),
        )
        if contrast_ratio(palette["text"], palette["background"]) < kit.min_contrast:
            raise _fail("palette.text", "contrast with palette.background is below min_contrast.")
        return kit


def _string(data: dict, key: str, prefix: str = "") -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value.strip():
        raise _fail(prefix + key, "expected a non-empty string.")
    return value


def _strings(data: dict, key: str, prefix: str = "") -> tuple[str, ...]:
    value = data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise _fail(prefix + key, "expected a list of non-empty strings.")
    return tuple(value)


def _number(data: dict, key: str, default: float, lo: float, hi: float) -> float:
    value = data.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not lo <= value <= hi:
        raise _fail(key, f"expected a number from {lo} to {hi}.")
    return float(value)


def _logo(value: Any) -> bytes:
    """The logo as PNG bytes (or base64 of them in JSON), checked to decode."""
    if isinstance(value, str):
        try:
            value = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raise _fail("logo", "expected PNG bytes or their base64.") from None
    if not isinstance(value, bytes) or not value:
        raise _fail("logo", "expected PNG bytes or their base64.")
    if len(value) > MAX_LOGO_BYTES:
        raise _fail("logo", f"larger than {MAX_LOGO_BYTES} bytes.")
    try:
        with Image.open(io.BytesIO(value)) as im:
            if im.format != "PNG":
                raise _fail("logo", "expected a PNG.")
            if max(im.size) > MAX_LOGO_SIDE:
                raise _fail("logo", f"wider or taller than {MAX_LOGO_SIDE} px.")
            im.load()
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise _fail("logo", "not a decodable PNG.") from None
    return value
