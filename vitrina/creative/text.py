"""Text fitting and drawing: wrap by words (by grapheme where a word is wider than the
box, as in scripts written without spaces), shrink from the largest allowed size to the
smallest until the lines fit, and say so (``overflow``) when even the smallest does not.
Shaping and bidi are raqm's (HarfBuzz + FriBiDi); right-to-left text aligns right."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from PIL import Image, ImageDraw

from vitrina.creative import fonts
from vitrina.creative.model import Box

Colour = tuple[int, int, int]


@dataclass(frozen=True)
class Fitted:
    text: str
    lines: tuple[str, ...]
    px: int
    face: fonts.Face
    direction: str
    overflow: bool
    line_height: int


def direction_of(text: str) -> str:
    """``rtl`` when the first strongly directional character is right-to-left."""
    for ch in text:
        kind = unicodedata.bidirectional(ch)
        if kind in ("R", "AL"):
            return "rtl"
        if kind == "L":
            return "ltr"
    return "ltr"


def graphemes(word: str) -> list[str]:
    """Base characters with their combining marks and joiner sequences kept together."""
    out: list[str] = []
    for ch in word:
        joins = out and (unicodedata.category(ch) in ("Mn", "Mc", "Me")
                         or ch in "\u200d\ufe0f" or out[-1].endswith("\u200d"))
        if joins:
            out[-1] += ch
        else:
            out.append(ch)
    return out


def _width(font, text: str, direction: str) -> float:
    return font.getlength(text, direction=direction)


def wrap(text: str, font, width: int, direction: str) -> list[str]:
    lines: list[str] = []
    line = ""
    for word in text.split():
        candidate = f"{line} {word}" if line else word
        if _width(font, candidate, direction) <= width:
            line = candidate
            continue
        if line:
            lines.append(line)
        if _width(font, word, direction) <= width:
            line = word
            continue
        # a word wider than the box: break it between graphemes
        line = ""
        for g in graphemes(word):
            if line and _width(font, line + g, direction) > width:
                lines.append(line)
                line = g
            else:
                line += g
    if line:
        lines.append(line)
    return lines


def line_height(font) -> int:
    ascent, descent = font.getmetrics()
    return ascent + descent


def fit(text: str, chain: tuple[fonts.Face, ...], width: int, height: int,
        px_range: tuple[int, int], max_lines: int) -> Fitted:
    """The largest size in ``px_range`` at which ``text`` wraps into at most
    ``max_lines`` lines inside width x height; at the smallest size with
    ``overflow=True`` when none does."""
    face = fonts.pick(chain, text)
    direction = direction_of(text)
    lo, hi = px_range

    def attempt(px: int) -> tuple[list[str], int, bool]:
        font = fonts.truetype(face, px)
        lines = wrap(text, font, width, direction)
        lh = line_height(font)
        ok = (len(lines) <= max_lines and len(lines) * lh <= height
              and all(_width(font, ln, direction) <= width for ln in lines))
        return lines, lh, ok

    # bisect the largest fitting size: fitting is monotone in size but for rare
    # wrapping coincidences, which at worst cost a pixel of size
    best = None
    a, b = lo, hi
    while a <= b:
        mid = (a + b) // 2
        lines, lh, ok = attempt(mid)
        if ok:
            best = (mid, lines, lh)
            a = mid + 1
        else:
            b = mid - 1
    if best is None:
        lines, lh, _ = attempt(lo)
        return Fitted(text, tuple(lines), lo, face, direction, True, lh)
    px, lines, lh = best
    return Fitted(text, tuple(lines), px, face, direction, False, lh)


def block_size(f: Fitted) -> tuple[int, int]:
    font = fonts.truetype(f.face, f.px)
    w = max((round(_width(font, ln, f.direction)) for ln in f.lines), default=0)
    return w, f.line_height * len(f.lines)


def draw(canvas: Image.Image, f: Fitted, box: Box, align: str, anchor: str,
         colour: Colour) -> Box:
    """Draw the fitted lines inside ``box`` (clipped to it) and return the ink box in
    canvas pixels (the box's top-left corner, empty, when nothing was drawn)."""
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    font = fonts.truetype(f.face, f.px)
    mask = Image.new("L", (w, h), 0)
    pen = ImageDraw.Draw(mask)
    block_h = f.line_height * len(f.lines)
    top = {"top": 0, "middle": (h - block_h) // 2, "bottom": h - block_h}[anchor]
    top = max(0, top)
    side = {"start": "right" if f.direction == "rtl" else "left", "center": "center",
            "end": "left" if f.direction == "rtl" else "right"}[align]
    for i, ln in enumerate(f.lines):
        y = top + i * f.line_height
        if y >= h:
            break
        lw = _width(font, ln, f.direction)
        x = {"left": 0, "center": (w - lw) / 2, "right": w - lw}[side]
        pen.text((round(x), y), ln, fill=255, font=font, anchor="la", direction=f.direction)
    ink = mask.getbbox()
    canvas.paste(Image.new("RGB", (w, h), colour), (x0, y0), mask)
    if ink is None:
        return (x0, y0, x0, y0)
    return (x0 + ink[0], y0 + ink[1], x0 + ink[2], y0 + ink[3])
