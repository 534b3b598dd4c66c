"""WCAG 2.1 contrast, measured against the pixels a text actually sits on.

``relative_luminance`` and ``contrast_ratio`` follow WCAG 2.1's definitions exactly
(sRGB linearised with the 0.04045 threshold; (L1 + 0.05) / (L2 + 0.05)).
``text_contrast`` looks at a text's ink box: pixels close to the text colour are the
glyphs; they are grown by one pixel so anti-aliased edges (half text, half background)
are not taken for background; what is left is the background. The figure returned is
the contrast of the text colour against the *worst decile* of those background pixels
(the 10th percentile of per-pixel contrast): a plain background gives its own contrast,
and a busy photo that is dark under part of a dark text fails even when its average
would pass.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy

#: a background pixel closer than this (RGB Euclidean) to the text colour is taken for
#: glyph ink; anything that close contrasts below about 1.7:1 with the text anyway
INK_DISTANCE = 48.0
#: the share of the ink box the glyphs may cover; more means the background is
#: indistinguishable from the text (glyphs rarely cover half of their box)
MAX_INK_SHARE = 0.6
#: the least share of the ink box in the text colour: below it the glyphs as drawn are
#: not that colour (blurred away, or drawn in another colour), so there is nothing to measure
MIN_INK_SHARE = 0.01
#: the share of background pixels that decides: the worst decile
WORST_SHARE = 0.10


def _linear(channel: numpy.ndarray) -> numpy.ndarray:
    c = channel / 255.0
    return numpy.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def relative_luminance(rgb) -> numpy.ndarray | float:
    """WCAG relative luminance of an (..., 3) array or one (r, g, b) triple, 0..1."""
    a = numpy.asarray(rgb, dtype=numpy.float64)
    lin = _linear(a)
    out = 0.2126 * lin[..., 0] + 0.7152 * lin[..., 1] + 0.0722 * lin[..., 2]
    return float(out) if out.ndim == 0 else out


def contrast_ratio(a, b) -> float:
    """WCAG contrast ratio of two colours, 1..21 (order does not matter)."""
    la, lb = relative_luminance(a), relative_luminance(b)
    hi, lo = max(la, lb), min(la, lb)
    return (hi + 0.05) / (lo + 0.05)


@dataclass(frozen=True)
class Measured:
    #: contrast of the text colour against the worst decile of its background
    ratio: float
    #: the median background pixel's contrast, for the report
    median_ratio: float
    ink_share: float
    background_pixels: int

    def to_dict(self) -> dict:
        return {"ratio": round(self.ratio, 3), "median_ratio": round(self.median_ratio, 3),
                "ink_share": round(self.ink_share, 3), "background_pixels": self.background_pixels}


def _grow(mask: numpy.ndarray) -> numpy.ndarray:
    """The mask grown by one pixel in all eight directions."""
    padded = numpy.pad(mask, 1)
    h, w = mask.shape
    out = numpy.zeros_like(mask)
    for dy in range(3):
        for dx in range(3):
            out |= padded[dy:dy + h, dx:dx + w]
    return out


def text_contrast(pixels: numpy.ndarray, color: tuple[int, int, int]) -> Measured:
    """The contrast of ``color`` against the background pixels of ``pixels`` (an
    ink box, H x W x 3 uint8). A box where the background cannot be told from the
    text (no background pixel, or glyph-like pixels over ``MAX_INK_SHARE``), or where
    the text colour is hardly there (under ``MIN_INK_SHARE``), measures 1.0."""
    rgb = numpy.asarray(pixels, dtype=numpy.float64)[..., :3]
    if rgb.size == 0:
        return Measured(1.0, 1.0, 1.0, 0)
    distance = numpy.sqrt(((rgb - numpy.asarray(color, dtype=numpy.float64)) ** 2).sum(axis=-1))
    ink = distance < INK_DISTANCE
    share = float(ink.mean())
    background = rgb[~_grow(ink)]
    if not MIN_INK_SHARE <= share <= MAX_INK_SHARE or len(background) == 0:
        return Measured(1.0, 1.0, share, len(background))
    text_l = relative_luminance(color)
    bg_l = relative_luminance(background)
    ratios = (numpy.maximum(bg_l, text_l) + 0.05) / (numpy.minimum(bg_l, text_l) + 0.05)
    return Measured(float(numpy.quantile(ratios, WORST_SHARE)), float(numpy.median(ratios)),
                    share, len(background))
