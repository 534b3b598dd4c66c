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
from collections.abc import Iterable, Mapping
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



@dataclass(frozen=True, slots=True)
class Palette:
    """An asset's dominant colours, parsed once: hexes, Lab values and fractions."""

    hexes: tuple[str, ...]
    labs: np.ndarray  # (k, 3)
    fractions: np.ndarray  # (k,)


def palettes(signals: Iterable[tuple[str, Mapping[str, Any] | None]]) -> dict[str, Palette]:
    """The palettes of ``colors`` signal values, by asset id (one Lab conversion for all);
    an asset without a usable colour gets an empty palette."""
    owners, hexes, fractions = [], [], []
    seen: list[str] = []
    for asset_id, signal in signals:
        seen.append(asset_id)
        colours = signal.get("colors") if isinstance(signal, Mapping) else None
        for c in colours if isinstance(colours, list) else ():
            if isinstance(c, Mapping) and isinstance(c.get("hex"), str) and _HEX.fullmatch(c["hex"]):
                fraction = c.get("fraction")
                owners.append(asset_id)
                hexes.append(parse_hex(c["hex"]))
                fractions.append(float(fraction) if isinstance(fraction, int | float) else 0.0)
    empty = Palette((), np.zeros((0, 3)), np.zeros(0))
    found = dict.fromkeys(seen, empty)
    if not hexes:
        return found
    rgb = np.frombuffer(bytes.fromhex("".join(h[1:] for h in hexes)), dtype=np.uint8).reshape(-1, 3)
    labs, weights = srgb_to_lab(rgb), np.asarray(fractions)
    start = 0
    for end in range(1, len(owners) + 1):  # each asset's colours are consecutive
        if end == len(owners) or owners[end] != owners[start]:
            found[owners[start]] = Palette(tuple(hexes[start:end]), labs[start:end], weights[start:end])
            start = end
    return found


def match_many(query_lab: np.ndarray, palettes_: Mapping[str, Palette],
               tolerance: float = DEFAULT_TOLERANCE) -> dict[str, ColourMatch]:
    """:func:`match` for many assets at once (one distance computation for every colour):
    the assets with a match, by id."""
    ids = [i for i, p in palettes_.items() if p.hexes]
    if not ids:
        return {}
    labs = np.concatenate([palettes_[i].labs for i in ids])
    fractions = np.concatenate([palettes_[i].fractions for i in ids])
    distances = delta_e(labs, query_lab)
    parts = fractions * np.clip(1.0 - distances / tolerance, 0.0, None)
    found: dict[str, ColourMatch] = {}
    start = 0
    for i in ids:
        p = palettes_[i]
        end = start + len(p.hexes)
        mine = parts[start:end]
        if mine.any():
            best = int(np.argmax(mine))
            found[i] = ColourMatch(float(mine.sum()), p.hexes[best], float(distances[start + best]),
                                   float(p.fractions[best]))
        start = end
    return found
