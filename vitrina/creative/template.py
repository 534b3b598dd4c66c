"""Templates as data: one JSON file describes the slots of a creative, their text
constraints, and an arrangement per aspect class; the layout solver
(:mod:`vitrina.creative.layout`) turns it into boxes for any placement.

Shape (every field checked by :func:`Template.from_dict`, errors name the field)::

    {"id": "hero", "version": 1,
     "slots": {"headline": {"align": "start", "anchor": "top", "min_px": 0.04,
                            "max_px": 0.09, "floor_px": 12, "max_lines": 3}, ...},
     "layouts": {"wide" | "square" | "tall" | "banner": {
         "image": {"rect": [x0, y0, x1, y1], "space": "canvas" | "safe"},
         "scrim": {"rect": [...], "space": ..., "opacity": 0.85},        (optional)
         "areas": [{"rect": [...], "flow": "column" | "row", "gap": 0.03,
                    "slots": {"logo": 1, "headline": 3, ...}}],
         "overrides": {"headline": {"max_px": 0.3}}}}}                   (optional)

Rectangles are fractions of the canvas or of the safe box; sizes in px are fractions
of the placement's short side, never below ``floor_px``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from importlib import resources
from typing import Any

from vitrina.errors import InvalidInput

ROLES = ("image", "logo", "headline", "subline", "cta", "price")
TEXT_ROLES = ("headline", "subline", "cta", "price")
ASPECTS = ("wide", "square", "tall", "banner")
ALIGNS = ("start", "center", "end")
ANCHORS = ("top", "middle", "bottom")
SPACES = ("canvas", "safe")
Rect = tuple[float, float, float, float]


class InvalidTemplate(InvalidInput):
    code = "invalid_template"


def _fail(field: str, message: str) -> InvalidTemplate:
    return InvalidTemplate(f"Template field {field!r}: {message}", details={"field": field})


@dataclass(frozen=True)
class SlotRule:
    role: str
    align: str = "start"
    anchor: str = "top"
    min_px: float = 0.03
    max_px: float = 0.08
    floor_px: int = 10
    max_lines: int = 2

    def px_range(self, short_side: int) -> tuple[int, int]:
        lo = max(self.floor_px, round(self.min_px * short_side))
        return lo, max(lo, round(self.max_px * short_side))


@dataclass(frozen=True)
class Region:
    rect: Rect
    space: str = "safe"
    opacity: float = 1.0


@dataclass(frozen=True)
class Area:
    rect: Rect
    flow: str
    gap: float
    slots: tuple[tuple[str, float], ...]  # role, share of the area along the flow
    space: str = "safe"


@dataclass(frozen=True)
class Arrangement:
    image: Region | None
    scrim: Region | None
    areas: tuple[Area, ...]
    rules: dict[str, SlotRule]  # the template's rules with this arrangement's overrides

    def __hash__(self) -> int:
        return id(self)


@dataclass(frozen=True)
class Template:
    id: str
    version: int
    slots: dict[str, SlotRule]
    layouts: dict[str, Arrangement]

    def __hash__(self) -> int:
        return hash((self.id, self.version))

    @classmethod
    def from_json(cls, text: str | bytes) -> Template:
        try:
            data = json.loads(text)
        except (ValueError, UnicodeDecodeError) as err:
            raise _fail("$", f"not valid JSON ({err}).") from None
        return cls.from_dict(data)

    @classmethod
    def from_dict(cls, data: Any) -> Template:
        _object(data, "$", {"id", "version", "name", "description", "slots", "layouts"})
        tid = data.get("id")
        if not isinstance(tid, str) or not tid:
            raise _fail("id", "expected a non-empty string.")
        version = data.get("version")
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            raise _fail("version", "expected a positive integer.")
        slots_in = data.get("slots")
        _object(slots_in, "slots", set(ROLES))
        if "headline" not in slots_in:
            raise _fail("slots.headline", "every template has a headline.")
        slots = {role: _rule(role, spec, f"slots.{role}") for role, spec in slots_in.items()}
        layouts_in = data.get("layouts")
        _object(layouts_in, "layouts", set(ASPECTS))
        layouts = {}
        for aspect in ASPECTS:
            if aspect not in layouts_in:
                raise _fail(f"layouts.{aspect}", "missing: one template serves every aspect.")
            layouts[aspect] = _arrangement(layouts_in[aspect], slots, f"layouts.{aspect}")
        return cls(tid, version, slots, layouts)


def builtin(name: str) -> Template:
    """A template shipped in ``vitrina/creative/templates/``."""
    if name not in builtin_names():
        raise InvalidTemplate(f"No built-in template {name!r}.", details={"field": "template"})
    return Template.from_json(resources.files(__package__).joinpath(f"templates/{name}.json")
                              .read_bytes())


def builtin_names() -> tuple[str, ...]:
    folder = resources.files(__package__).joinpath("templates")
    return tuple(sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".json")))


def _object(value: Any, field: str, allowed: set[str]) -> None:
    if not isinstance(value, dict):
        raise _fail(field, "expected an object.")
    unknown = sorted(set(value) - allowed)
    if unknown:
        where = f"{field}.{unknown[0]}" if field != "$" else unknown[0]
        raise _fail(where, f"unknown field; expected one of {', '.join(sorted(allowed))}.")


def _rule(role: str, spec: Any, field: str, base: SlotRule | None = None) -> SlotRule:
    _object(spec, field, {"align", "anchor", "min_px", "max_px", "floor_px", "max_lines"})
    rule = base or SlotRule(role)
    changes: dict[str, Any] = {}
    for key, choices in (("align", ALIGNS), ("anchor", ANCHORS)):
        if key in spec:
            if spec[key] not in choices:
                raise _fail(f"{field}.{key}", f"expected one of {', '.join(choices)}.")
            changes[key] = spec[key]
    for key in ("min_px", "max_px"):
        if key in spec:
            changes[key] = _fraction(spec[key], f"{field}.{key}", 0.0, 1.0)
    for key, lo, hi in (("floor_px", 6, 400), ("max_lines", 1, 12)):
        if key in spec:
            v = spec[key]
            if not isinstance(v, int) or isinstance(v, bool) or not lo <= v <= hi:
                raise _fail(f"{field}.{key}", f"expected an integer from {lo} to {hi}.")
            changes[key] = v
    rule = replace(rule, **changes)
    if rule.min_px > rule.max_px:
        raise _fail(f"{field}.min_px", "greater than max_px.")
    return rule


def _fraction(value: Any, field: str, lo: float, hi: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not lo <= value <= hi:
        raise _fail(field, f"expected a number from {lo} to {hi}.")
    return float(value)


def _rect(value: Any, field: str) -> Rect:
    if not isinstance(value, list) or len(value) != 4:
        raise _fail(field, "expected [x0, y0, x1, y1] as fractions 0..1.")
    x0, y0, x1, y1 = (_fraction(v, field, 0.0, 1.0) for v in value)
    if x1 <= x0 or y1 <= y0:
        raise _fail(field, "empty rectangle: x1 must exceed x0 and y1 exceed y0.")
    return (x0, y0, x1, y1)


def _space(spec: dict, field: str, default: str) -> str:
    space = spec.get("space", default)
    if space not in SPACES:
        raise _fail(f"{field}.space", f"expected one of {', '.join(SPACES)}.")
    return space


def _arrangement(spec: Any, slots: dict[str, SlotRule], field: str) -> Arrangement:
    _object(spec, field, {"image", "scrim", "areas", "overrides"})
    image = scrim = None
    if spec.get("image") is not None:
        if "image" not in slots:
            raise _fail(f"{field}.image", "the template has no image slot.")
        _object(spec["image"], f"{field}.image", {"rect", "space"})
        image = Region(_rect(spec["image"].get("rect"), f"{field}.image.rect"),
                       _space(spec["image"], f"{field}.image", "canvas"))
    if spec.get("scrim") is not None:
        s = spec["scrim"]
        _object(s, f"{field}.scrim", {"rect", "space", "opacity"})
        scrim = Region(_rect(s.get("rect"), f"{field}.scrim.rect"),
                       _space(s, f"{field}.scrim", "canvas"),
                       _fraction(s.get("opacity", 0.85), f"{field}.scrim.opacity", 0.0, 1.0))
    areas_in = spec.get("areas")
    if not isinstance(areas_in, list) or not areas_in:
        raise _fail(f"{field}.areas", "expected a non-empty list of areas.")
    areas, placed = [], set()
    for i, a in enumerate(areas_in):
        where = f"{field}.areas[{i}]"
        _object(a, where, {"rect", "flow", "gap", "slots", "space"})
        if a.get("flow", "column") not in ("column", "row"):
            raise _fail(f"{where}.flow", "expected column or row.")
        weights = a.get("slots")
        if not isinstance(weights, dict) or not weights:
            raise _fail(f"{where}.slots", "expected an object of slot: share.")
        for role, share in weights.items():
            if role not in slots or role == "image":
                raise _fail(f"{where}.slots.{role}", "not a text or logo slot of this template.")
            if role in placed:
                raise _fail(f"{where}.slots.{role}", "placed twice in one layout.")
            placed.add(role)
            _fraction(share, f"{where}.slots.{role}", 0.01, 100.0)
        areas.append(Area(_rect(a.get("rect"), f"{where}.rect"), a.get("flow", "column"),
                          _fraction(a.get("gap", 0.02), f"{where}.gap", 0.0, 0.5),
                          tuple((r, float(s)) for r, s in weights.items()),
                          _space(a, where, "safe")))
    if "headline" not in placed:
        raise _fail(f"{field}.areas", "the headline must be placed in every layout.")
    overrides = spec.get("overrides", {})
    _object(overrides, f"{field}.overrides", set(slots))
    rules = dict(slots)
    for role, o in overrides.items():
        rules[role] = _rule(role, o, f"{field}.overrides.{role}", slots[role])
    return Arrangement(image, scrim, tuple(areas), rules)
