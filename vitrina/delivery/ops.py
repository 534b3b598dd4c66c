"""The data shape of a transformation request and the words the URL grammar knows.

An :class:`Ops` is always normalised (see :mod:`vitrina.delivery.grammar`): two
requests that must give the same pixels compare equal, so the canonical string of
an ``Ops`` is a sound cache key.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

#: resize modes (``c_``); ``fit`` is the default
MODES = ("scale", "fit", "limit", "fill", "pad", "crop", "thumb")
#: compass gravities and the fraction of the free space left of / above the image
COMPASS: dict[str, tuple[float, float]] = {
    "center": (0.5, 0.5),
    "north": (0.5, 0.0),
    "south": (0.5, 1.0),
    "east": (1.0, 0.5),
    "west": (0.0, 0.5),
    "north_east": (1.0, 0.0),
    "north_west": (0.0, 0.0),
    "south_east": (1.0, 1.0),
    "south_west": (0.0, 1.0),
}
#: gravities that follow the picture's content or an explicit point
FOCAL = ("xy", "auto", "face")
GRAVITY_ALIASES = {
    "c": "center", "centre": "center", "n": "north", "s": "south", "e": "east", "w": "west",
    "ne": "north_east", "nw": "north_west", "se": "south_east", "sw": "south_west",
    "northeast": "north_east", "northwest": "north_west",
    "southeast": "south_east", "southwest": "south_west",
}  # fmt: skip
#: modes in which gravity decides something (elsewhere it is dropped)
GRAVITY_MODES = ("fill", "pad", "crop", "thumb")
#: output formats (``f_``), named as everywhere inside Vitrina; ``auto`` is negotiated
#: from the Accept header
FORMATS = ("jpeg", "png", "webp", "avif")
FORMAT_ALIASES = {"jpg": "jpeg"}
#: how URLs spell a format where the name differs: the canonical form (signed URLs, cache
#: keys) has always written ``f_jpg``, and keeps doing so
FORMAT_TOKENS = {"jpeg": "jpg"}
#: effects with their default strength (``None``: takes no argument)
EFFECTS: dict[str, float | None] = {"blur": 3.0, "grayscale": None, "sharpen": 1.0}
EFFECT_ALIASES = {"greyscale": "grayscale", "gray": "grayscale", "grey": "grayscale"}
#: effects apply in this order whatever order the URL names them in
EFFECT_ORDER = ("grayscale", "blur", "sharpen")


@dataclass(frozen=True)
class Effect:
    name: str  # one of EFFECTS
    #: sigma in CSS pixels for blur/sharpen; None = the effect's default
    amount: float | None = None

    @property
    def sigma(self) -> float | None:
        return EFFECTS[self.name] if self.amount is None else self.amount


@dataclass(frozen=True)
class Overlay:
    """Another asset drawn over the result (``l_{asset}:g_se:x_10:y_10:o_50:w_120``)."""

    asset: str
    g: str = "center"  # a compass gravity
    x: int = 0  # CSS px inward from the gravity's edge (rightward/downward at center)
    y: int = 0
    o: int = 100  # opacity in percent
    w: int | None = None  # width in CSS px; None = natural size, shrunk to fit the base


@dataclass(frozen=True)
class Ops:
    """A normalised transformation. Sizes are CSS pixels; the output is ``dpr`` times them."""

    w: int | None = None
    h: int | None = None
    ar: Fraction | None = None  # width / height
    dpr: float = 1.0
    c: str = "fit"
    g: str = "center"
    gx: float | None = None  # focal point for g == "xy", 0..1 of the output frame
    gy: float | None = None
    x: int | None = None  # c_crop: top-left of the region, source pixels
    y: int | None = None
    q: int | str = "auto"  # 1..100 or "auto"
    f: str | None = None  # jpeg, png, webp, avif, auto; None: the source's own family
    b: str = "ffffff"  # background, lowercase hex rrggbb or rrggbbaa (aa != ff)
    r: int = 0  # clockwise rotation: 0, 90, 180, 270
    fl: str | None = None  # "h" (mirror) or None; other flips fold into r
    e: tuple[Effect, ...] = ()  # sorted by name, at most one per name
    l: tuple[Overlay, ...] = ()

    @property
    def focal(self) -> bool:
        return self.g in FOCAL


DEFAULTS = Ops()
