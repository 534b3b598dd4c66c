"""Colour search: how much of a picture is close to a colour, by CIELAB distance.

An asset's ``colors`` signal lists its dominant colours with the fraction of the
picture each covers. Against a query colour, each dominant colour at distance ΔE
(CIE 1976: the Euclidean distance in CIELAB, D65) counts ``fraction * (1 - ΔE / tolerance)``
when ΔE is below the tolerance, nothing otherwise; the asset's colour score is the sum
(1: the whole picture is exactly that colour). The explanation names the dominant
colour that counted most. ΔE 2.3 is about one just-noticeable difference; the default
tolerance of 25 keeps a colour family (dark red to light red) and drops its neighbours.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from vitrina.analysis.lab import srgb_to_lab
from vitrina.errors import InvalidInput

SIGNAL = "colors"
DEFAULT_TOLERANCE = 25.0
MIN_TOLERANCE, MAX_TOLERANCE = 1.0, 100.0
_HEX = re.compile(r"#?([0-9a-fA-F]{6}|[0-9a-fA-F]{3})")


def parse_hex(value: str) -> str:
    """``#rrggbb`` (or ``rrggbb``, ``#rgb``) as lower-case ``#rrggbb``; ``invalid_color`` else."""
    m = _HEX.fullmatch(value.strip()) if isinstance(value, str) else None
    if m is None:
        raise InvalidInput("color must be a hex colour such as #c0ffee (or c0ffee, #cf0).",
                           code="invalid_color", details={"color": str(value)[:40]})
    digits = m.group(1).lower()
    if len(digits) == 3:
        digits = "".join(c * 2 for c in digits)
    return f"#{digits}"


def lab_of(hex_: str) -> np.ndarray:
    rgb = np.array([int(hex_[i:i + 2], 16) for i in (1, 3, 5)], dtype=np.uint8)
    return srgb_to_lab(rgb)


def delta_e(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """CIE 1976 ΔE*ab between Lab colours (broadcast)."""
    return np.linalg.norm(np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64), axis=-1)


@dataclass(frozen=True, slots=True)
class ColourMatch:
    score: float  # 0..1: the fraction of the picture near the colour, closer counting more
    hex: str  # the dominant colour that counted most
    delta_e: float
    fraction: float


def match(query_lab: np.ndarray, signal: Mapping[str, Any] | None,
          tolerance: float = DEFAULT_TOLERANCE) -> ColourMatch | None:
    """How ``signal`` (a ``colors`` value) matches the query colour; None when none of its
    colours is within ``tolerance``, or it has none."""
    colours = [c for c in (signal or {}).get("colors") or ()
               if isinstance(c, Mapping) and isinstance(c.get("hex"), str) and _HEX.fullmatch(c["hex"])]
    if not colours:
        return None
    labs = np.stack([lab_of(parse_hex(c["hex"])) for c in colours])
    fractions = np.array([float(c.get("fraction") or 0.0) for c in colours])
    distances = delta_e(labs, query_lab)
    parts = fractions * np.clip(1.0 - distances / tolerance, 0.0, None)
    if not parts.any():
        return None
    best = int(np.argmax(parts))
    return ColourMatch(float(parts.sum()), parse_hex(colours[best]["hex"]), float(distances[best]),
                       float(fractions[best]))
