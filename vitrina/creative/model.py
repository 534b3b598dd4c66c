"""What a rendered creative is, shared by the renderer (which fills it) and the gates
(which read it): the picture, the placement's safe zone, and where each slot landed
with what text at what size."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

#: a pixel rectangle: left, top, right, bottom (right and bottom exclusive)
Box = tuple[int, int, int, int]


@dataclass(frozen=True)
class Placement:
    """A size a creative is served at, e.g. ``Placement("leaderboard", 728, 90)``."""

    name: str
    width: int
    height: int


#: the placements every template is checked on
PLACEMENTS = (
    Placement("link", 1200, 628), Placement("square", 1080, 1080), Placement("story", 1080, 1920),
    Placement("medium-rectangle", 300, 250), Placement("leaderboard", 728, 90),
    Placement("skyscraper", 160, 600),
)


@dataclass(frozen=True)
class PlacedText:
    """A text slot as drawn: its box (the area the layout gave it), the box the ink
    actually covers, the lines after wrapping, the font size in px, the colour, and
    whether the text had to be cut (``overflow``: never allowed through the gates)."""

    slot: str  # headline | subline | cta | price
    text: str
    box: Box
    ink: Box
    lines: tuple[str, ...]
    font_px: int
    font: str
    color: tuple[int, int, int]
    direction: str = "ltr"  # ltr | rtl
    overflow: bool = False


@dataclass(frozen=True)
class PlacedImage:
    slot: str  # image | logo
    box: Box
    #: for the product image: the crop of the source it shows (source pixels)
    crop: Box | None = None


@dataclass(frozen=True)
class Rendered:
    """A creative as rendered: ``png`` is deterministic (same inputs, same bytes)."""

    placement: Placement
    png: bytes
    safe: Box
    texts: tuple[PlacedText, ...]
    images: tuple[PlacedImage, ...]
    #: what made it (brand kit and template ids and versions, the text variant, fonts)
    inputs: dict[str, Any] = field(default_factory=dict)
