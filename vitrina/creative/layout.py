"""The layout solver: from a template and a placement, the arrangement for the
placement's aspect class and a pixel box for every slot, text and logo inside the safe
zone. One template adapts to every size; nothing here draws."""

from __future__ import annotations

from dataclasses import dataclass

from vitrina.creative.model import Box, Placement
from vitrina.creative.template import Arrangement, Region, SlotRule, Template
from vitrina.errors import InvalidInput

# width / height thresholds: a 728x90 leaderboard (8.1) is a banner; 1200x628 (1.91) is
# wide; 1080x1920 (0.56) and 160x600 (0.27) are tall; 1080x1080 and 300x250 are square
BANNER_FROM = 3.0
WIDE_FROM = 1.6
TALL_BELOW = 0.75
MIN_SIDE, MAX_SIDE = 32, 4096


@dataclass(frozen=True)
class Layout:
    placement: Placement
    aspect: str
    safe: Box
    image: Box | None
    scrim: Box | None
    scrim_opacity: float
    cells: dict[str, Box]  # role -> box for the text and logo slots
    rules: dict[str, SlotRule]

    @property
    def short_side(self) -> int:
        return min(self.placement.width, self.placement.height)


def aspect_class(width: int, height: int) -> str:
    ratio = width / height
    if ratio >= BANNER_FROM:
        return "banner"
    if ratio > WIDE_FROM:
        return "wide"
    if ratio < TALL_BELOW:
        return "tall"
    return "square"


def safe_box(placement: Placement, margin: float) -> Box:
    m = round(margin * min(placement.width, placement.height))
    return (m, m, placement.width - m, placement.height - m)


def solve(template: Template, placement: Placement, safe_margin: float) -> Layout:
    w, h = placement.width, placement.height
    if not (MIN_SIDE <= w <= MAX_SIDE and MIN_SIDE <= h <= MAX_SIDE):
        raise InvalidInput(
            f"Placement sides must be {MIN_SIDE}..{MAX_SIDE} px.",
            code="invalid_placement", details={"field": "placement", "size": [w, h]},
        )
    aspect = aspect_class(w, h)
    arrangement: Arrangement = template.layouts[aspect]
    safe = safe_box(placement, safe_margin)
    canvas: Box = (0, 0, w, h)
    cells: dict[str, Box] = {}
    for area in arrangement.areas:
        box = _place(area.rect, canvas if area.space == "canvas" else safe)
        # an area given in canvas space still keeps its text inside the safe zone
        box = _intersect(box, safe)
        cells.update(_split(box, area.flow, area.gap, area.slots, min(w, h)))
    scrim = arrangement.scrim
    return Layout(
        placement, aspect, safe,
        _region(arrangement.image, canvas, safe), _region(scrim, canvas, safe),
        scrim.opacity if scrim else 0.0, cells, arrangement.rules,
    )


def _region(region: Region | None, canvas: Box, safe: Box) -> Box | None:
    if region is None:
        return None
    return _place(region.rect, canvas if region.space == "canvas" else safe)


def _place(rect: tuple[float, float, float, float], within: Box) -> Box:
    x0, y0, x1, y1 = within
    w, h = x1 - x0, y1 - y0
    return (x0 + round(rect[0] * w), y0 + round(rect[1] * h),
            x0 + round(rect[2] * w), y0 + round(rect[3] * h))


def _intersect(a: Box, b: Box) -> Box:
    box = (max(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3]))
    return box if box[2] > box[0] and box[3] > box[1] else (b[0], b[1], b[0] + 1, b[1] + 1)


def _split(box: Box, flow: str, gap: float, slots: tuple[tuple[str, float], ...],
           short_side: int) -> dict[str, Box]:
    """Divide ``box`` along its flow by the slots' shares, ``gap`` (of the short side)
    between neighbours; integer edges, so cells never overlap."""
    x0, y0, x1, y1 = box
    length = (y1 - y0) if flow == "column" else (x1 - x0)
    g = round(gap * short_side)
    usable = max(len(slots), length - g * (len(slots) - 1))
    total = sum(share for _, share in slots)
    cells, before = {}, 0.0
    for i, (role, share) in enumerate(slots):
        a = round(usable * before / total) + i * g
        before += share
        b = max(a + 1, round(usable * before / total) + i * g)
        if flow == "column":
            cells[role] = (x0, y0 + a, x1, y0 + b)
        else:
            cells[role] = (x0 + a, y0, x0 + b, y1)
    return cells
