"""Parsers for single op values: each takes the op's name (for the error) and its text.

Every parser folds aliases and spellings (``w_0400``, ``f_jpeg``, ``b_FFF``,
``dpr_2.0``) into one value, and its formatter writes that value back the one way
the canonical form uses.
"""

from __future__ import annotations

import re
from fractions import Fraction

from vitrina.delivery.errors import InvalidOps
from vitrina.delivery.ops import (
    COMPASS,
    EFFECT_ALIASES,
    EFFECTS,
    FOCAL,
    FORMAT_ALIASES,
    FORMAT_TOKENS,
    FORMATS,
    GRAVITY_ALIASES,
    MODES,
)

_UINT = re.compile(r"\d{1,6}")
_INT = re.compile(r"-?\d{1,6}")
# at most four decimals, so that the canonical form writes the same number back
_DEC = re.compile(r"\d{1,5}(?:\.\d{1,4})?")
_RATIO = re.compile(r"(\d{1,5}):(\d{1,5})")
_HEX = re.compile(r"[0-9a-fA-F]{3}|[0-9a-fA-F]{6}|[0-9a-fA-F]{8}")

# syntax bounds only: what the server allows is its limits' to say (limits.py), so that
# a value over a limit answers op_out_of_range, not invalid_op
MAX_SIDE = 100_000
MAX_DPR = 100.0
MAX_SIGMA = {"blur": 10_000.0, "sharpen": 10.0}


def size(op: str, v: str) -> int:
    n = _int(op, v, _UINT)
    if not 1 <= n <= MAX_SIDE:
        raise InvalidOps(op, f"must be a whole number of pixels within 1..{MAX_SIDE}", value=v)
    return n


def coord(op: str, v: str) -> int:
    return _int(op, v, _UINT)


def offset(op: str, v: str) -> int:
    return _int(op, v, _INT)


def ratio(op: str, v: str) -> Fraction:
    m = _RATIO.fullmatch(v)
    if m:
        num, den = int(m[1]), int(m[2])
        if num == 0 or den == 0:
            raise InvalidOps(op, "both sides of the ratio must be positive", value=v)
        value = Fraction(num, den)
    else:
        value = Fraction(str(decimal(op, v)))
    if not Fraction(1, 100) <= value <= 100:
        raise InvalidOps(op, "aspect ratio must be within 1:100..100:1", value=v)
    return value


def decimal(op: str, v: str, lo: float = 0.0, hi: float = float("inf")) -> float:
    if not _DEC.fullmatch(v):
        raise InvalidOps(op, "expected a number such as 2 or 1.5 (at most 4 decimals)", value=v)
    x = float(v)
    if not lo <= x <= hi:
        raise InvalidOps(op, f"must be within {fmt_num(lo)}..{fmt_num(hi)}", value=v)
    return x


def dpr(op: str, v: str) -> float:
    return decimal(op, v, 0.1, MAX_DPR)


def unit(op: str, v: str) -> float:
    return decimal(op, v, 0.0, 1.0)


def quality(op: str, v: str) -> int | str:
    if v == "auto":
        return v
    q = _int(op, v, _UINT)
    if not 1 <= q <= 100:
        raise InvalidOps(op, "quality must be within 1..100 or auto", value=v)
    return q


def fmt(op: str, v: str) -> str:
    v = FORMAT_ALIASES.get(v, v)
    if v not in FORMATS and v != "auto":
        spelled = [FORMAT_TOKENS.get(f, f) for f in FORMATS]
        raise InvalidOps(op, f"format must be one of {', '.join(spelled)}, auto", value=v)
    return v


def background(op: str, v: str) -> str:
    if not _HEX.fullmatch(v):
        raise InvalidOps(op, "expected hex colour rgb, rrggbb or rrggbbaa", value=v)
    v = v.lower()
    if len(v) == 3:
        v = "".join(ch * 2 for ch in v)
    return v[:6] if v.endswith("ff") and len(v) == 8 else v


def rotation(op: str, v: str) -> int:
    n = _int(op, v, _INT)
    if n % 90:
        raise InvalidOps(op, "rotation must be a multiple of 90 degrees", value=v)
    return n % 360


def flip(op: str, v: str) -> str:
    if v not in ("h", "v", "hv", "vh"):
        raise InvalidOps(op, "flip must be h, v or hv", value=v)
    return "hv" if v == "vh" else v


def mode(op: str, v: str) -> str:
    if v not in MODES:
        raise InvalidOps(op, f"mode must be one of {', '.join(MODES)}", value=v)
    return v


def gravity(op: str, v: str, *, compass_only: bool = False) -> str:
    v = GRAVITY_ALIASES.get(v, v)
    allowed = tuple(COMPASS) if compass_only else (*COMPASS, *FOCAL)
    if v not in allowed:
        raise InvalidOps(op, f"gravity must be one of {', '.join(allowed)}", value=v)
    return v


def effect(op: str, v: str) -> tuple[str, float | None]:
    name, _, arg = v.partition(":")
    name = EFFECT_ALIASES.get(name, name)
    if name not in EFFECTS:
        raise InvalidOps(op, f"effect must be one of {', '.join(EFFECTS)}", value=v)
    default = EFFECTS[name]
    if not arg:
        return name, None
    if default is None:
        raise InvalidOps(op, f"effect {name} takes no argument", value=v)
    amount = decimal(op, arg, 0.1, MAX_SIGMA[name])
    return name, (None if amount == default else amount)


def fmt_num(x: float) -> str:
    """2.0 -> '2', 0.25 -> '0.25': the one spelling of a number in canonical form."""
    return f"{x:.4f}".rstrip("0").rstrip(".")


def fmt_ratio(r: Fraction) -> str:
    return f"{r.numerator}:{r.denominator}"


def _int(op: str, v: str, pattern: re.Pattern[str]) -> int:
    if not pattern.fullmatch(v):
        raise InvalidOps(op, "expected a whole number", value=v)
    return int(v)
