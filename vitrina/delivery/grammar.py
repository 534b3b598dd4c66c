"""The ops grammar of ``/img/{signature}/{ops}/{asset_id}`` and its one canonical form.

``ops`` is a comma list of ``key_value`` tokens (``w_400,h_300,c_fill,g_auto``).
:func:`parse_ops` refuses unknown ops, bad values and conflicting ops with a 400
naming the op, expands presets (``t_name``), folds aliases and drops what cannot
change the pixels. :func:`canonical` writes an :class:`Ops` back as one string:
tokens sorted by key, defaults left out, overlays in drawing order. That string is
what gets signed and the cache key, and ``parse_ops(canonical(x)) == x``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from vitrina.delivery import values as v
from vitrina.delivery.errors import InvalidOps
from vitrina.delivery.ops import (
    DEFAULTS,
    FOCAL,
    FORMAT_TOKENS,
    GRAVITY_MODES,
    Effect,
    Ops,
    Overlay,
)
from vitrina.errors import ConfigError
from vitrina.ids import ASSET_ID

MAX_OPS_LENGTH = 1024
EMPTY = "-"  # the ops segment of a URL that asks for no transformation
_PRESET_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,39}")

_SCALARS: dict[str, Callable[[str, str], Any]] = {
    "w": v.size, "h": v.size, "ar": v.ratio, "dpr": v.dpr, "c": v.mode, "g": v.gravity,
    "gx": v.unit, "gy": v.unit, "x": v.coord, "y": v.coord, "q": v.quality, "f": v.fmt,
    "b": v.background, "r": v.rotation, "fl": v.flip,
}  # fmt: skip
_OVERLAY_KEYS: dict[str, Callable[[str, str], Any]] = {
    "g": lambda op, s: v.gravity(op, s, compass_only=True),
    "x": v.offset,
    "y": v.offset,
    "o": v.coord,
    "w": v.size,
}


@dataclass
class _Layer:
    """What one ops string says before presets and explicit ops are merged."""

    scalars: dict[str, Any] = field(default_factory=dict)
    effects: dict[str, float | None] = field(default_factory=dict)
    overlays: list[Overlay] = field(default_factory=list)
    presets: list[str] = field(default_factory=list)


def parse_ops(text: str, presets: Mapping[str, str] | None = None) -> Ops:
    """Parse and normalise an ops string; raises :class:`InvalidOps` (400) naming the op."""
    presets = presets or {}
    explicit = _tokens(text, allow_presets=True)
    merged = _Layer()
    for name in explicit.presets:  # presets first, later ones win, explicit ops win over all
        if name not in presets:
            raise InvalidOps("t", "no preset by this name", value=name)
        _merge(merged, _tokens(presets[name], allow_presets=False))
    _merge(merged, explicit)
    return _normalise(merged)


def canonical(ops: Ops) -> str:
    """The one string for ``ops``: sorted by key, defaults dropped; ``-`` when empty."""
    tokens: list[tuple[str, str]] = []
    for f in fields(Ops):
        value = getattr(ops, f.name)
        if value == getattr(DEFAULTS, f.name):
            continue
        if f.name == "e":
            tokens += [("e", "e_" + _effect_text(e)) for e in value]
        elif f.name == "l":
            tokens += [("l", "l_" + _overlay_text(o)) for o in value]
        elif f.name == "f":
            tokens.append(("f", "f_" + FORMAT_TOKENS.get(value, value)))
        else:
            tokens.append((f.name, f"{f.name}_{_scalar_text(value)}"))
    tokens.sort(key=lambda t: t[0])  # stable: overlays keep their drawing order
    return ",".join(t for _, t in tokens) or EMPTY


def validate_presets(presets: Mapping[str, str]) -> None:
    """Check preset definitions at start-up; a bad one is a ConfigError naming it."""
    for name in presets:
        if not _PRESET_NAME.fullmatch(name):
            raise ConfigError(f"preset name {name!r} must match {_PRESET_NAME.pattern}")
        try:
            parse_ops(f"t_{name}", presets)
        except InvalidOps as err:
            raise ConfigError(f"preset {name!r} is invalid: {err.message}") from None


def _tokens(text: str, *, allow_presets: bool) -> _Layer:
    if len(text) > MAX_OPS_LENGTH:
        raise InvalidOps("ops", f"longer than {MAX_OPS_LENGTH} characters")
    layer = _Layer()
    if text in ("", EMPTY):
        return layer
    for token in text.split(","):
        key, sep, value = token.partition("_")
        if not token:
            raise InvalidOps("ops", "empty op (two commas in a row?)")
        if key not in _SCALARS and key not in ("t", "e", "l"):
            raise InvalidOps(key, "unknown op", value=token)
        if not sep or not value:
            raise InvalidOps(key, "missing value (write key_value)")
        if key == "t":
            if not allow_presets:
                raise InvalidOps("t", "presets cannot name other presets", value=value)
            layer.presets.append(value)
        elif key == "e":
            name, amount = v.effect(key, value)
            if name in layer.effects:
                raise InvalidOps("e", f"effect {name} given twice", value=value)
            layer.effects[name] = amount
        elif key == "l":
            layer.overlays.append(_overlay(value))
        else:
            if key in layer.scalars:
                raise InvalidOps(key, "given twice", value=value)
            layer.scalars[key] = _SCALARS[key](key, value)
    return layer


def _overlay(value: str) -> Overlay:
    asset, *parts = value.split(":")
    if not ASSET_ID.fullmatch(asset):
        raise InvalidOps("l", "expected an asset id first", value=value)
    args: dict[str, Any] = {}
    for part in parts:
        key, sep, arg = part.partition("_")
        if key not in _OVERLAY_KEYS or not sep or not arg:
            raise InvalidOps(
                "l", f"unknown overlay option {part!r} (g_, x_, y_, o_, w_)", value=value
            )
        if key in args:
            raise InvalidOps("l", f"overlay option {key} given twice", value=value)
        args[key] = _OVERLAY_KEYS[key]("l", arg)
    if not 0 <= args.get("o", 100) <= 100:
        raise InvalidOps("l", "opacity o_ must be within 0..100", value=value)
    return Overlay(asset, **args)


def _merge(into: _Layer, layer: _Layer) -> None:
    into.scalars.update(layer.scalars)
    into.effects.update(layer.effects)
    into.overlays.extend(layer.overlays)


def _normalise(layer: _Layer) -> Ops:
    s = dict(layer.scalars)
    c = s.get("c", DEFAULTS.c)
    if "ar" in s and "w" in s and "h" in s:
        raise InvalidOps("ar", "give at most two of w, h and ar")
    if ("gx" in s or "gy" in s) and s.setdefault("g", "xy") != "xy":
        raise InvalidOps("gx" if "gx" in s else "gy", "a focal point needs g_xy (or no g)")
    if s.get("g") == "xy":
        s.setdefault("gx", 0.5)
        s.setdefault("gy", 0.5)
    for key in ("x", "y"):
        if key in s and c != "crop":
            raise InvalidOps(key, "a crop offset needs c_crop")
        if key in s and "g" in s:
            raise InvalidOps("g", "x/y and g both place the crop: give one")
    if c not in GRAVITY_MODES:  # gravity cannot change a scale/fit/limit result
        for key in ("g", "gx", "gy"):
            s.pop(key, None)
    if c == "pad" and s.get("g") in FOCAL:
        raise InvalidOps("g", "pad places the image by a compass gravity")
    r, fl = s.pop("r", 0), s.pop("fl", None)
    if fl in ("v", "hv"):  # a vertical flip is a mirror plus a half turn
        r, fl = (r + 180) % 360, ("h" if fl == "v" else None)
    if s.get("f") == "png":  # PNG is lossless: quality cannot change it
        s.pop("q", None)
    effects = tuple(Effect(name, amount) for name, amount in sorted(layer.effects.items()))
    return Ops(**s, r=r, fl=fl, e=effects, l=tuple(layer.overlays))


def _scalar_text(value: Any) -> str:
    if isinstance(value, float):
        return v.fmt_num(value)
    if hasattr(value, "denominator") and not isinstance(value, int):
        return v.fmt_ratio(value)
    return str(value)


def _effect_text(e: Effect) -> str:
    return e.name if e.amount is None else f"{e.name}:{v.fmt_num(e.amount)}"


def _overlay_text(o: Overlay) -> str:
    parts = [o.asset]
    for key in ("g", "o", "w", "x", "y"):
        value = getattr(o, key)
        if value != getattr(Overlay, key):
            parts.append(f"{key}_{value}")
    return ":".join(parts)
