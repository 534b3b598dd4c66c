"""Draw other assets over the result (``l_``): placed by gravity and offset, with opacity."""

from __future__ import annotations

import math
from collections.abc import Mapping

import pyvips

from vitrina.delivery.ops import COMPASS, Overlay
from vitrina.errors import NotFound
from vitrina.media.colour import to_rgb, to_srgb
from vitrina.media.source import Source, read_header, thumbnail


def draw_overlays(
    base: pyvips.Image, overlays: tuple[Overlay, ...], sources: Mapping[str, Source], dpr: float
) -> pyvips.Image:
    for overlay in overlays:
        source = sources.get(overlay.asset)
        if source is None:
            raise NotFound(
                "The overlay asset does not exist or is not an image.",
                details={"op": "l", "asset_id": overlay.asset},
            )
        base = _draw(base, overlay, source, dpr)
    return base


def overlay_size(
    overlay: Overlay, natural: tuple[int, int], base: tuple[int, int], dpr: float
) -> tuple[int, int]:
    """``w`` (times dpr) or the natural size, shrunk to fit inside the base."""
    nw, nh = natural
    tw = overlay.w * dpr if overlay.w else nw
    th = tw * nh / nw
    k = min(1.0, base[0] / tw, base[1] / th)
    return max(1, math.floor(tw * k + 0.5)), max(1, math.floor(th * k + 0.5))


def overlay_position(
    overlay: Overlay, size: tuple[int, int], base: tuple[int, int], dpr: float
) -> tuple[int, int]:
    """Top-left corner: the gravity's spot, moved inward by the offsets."""
    fx, fy = COMPASS[overlay.g]
    dx, dy = math.floor(overlay.x * dpr + 0.5), math.floor(overlay.y * dpr + 0.5)
    x = math.floor((base[0] - size[0]) * fx) + (-dx if fx == 1.0 else dx)
    y = math.floor((base[1] - size[1]) * fy) + (-dy if fy == 1.0 else dy)
    return x, y


def _draw(base: pyvips.Image, overlay: Overlay, source: Source, dpr: float) -> pyvips.Image:
    header = read_header(source)
    size = overlay_size(overlay, (header.width, header.height), (base.width, base.height), dpr)
    layer = to_rgb(to_srgb(thumbnail(source, size[0], size[1], size="force")))
    if not layer.hasalpha():
        layer = layer.bandjoin_const(255)
    if overlay.o < 100:
        layer = (layer * [1, 1, 1, overlay.o / 100]).cast("uchar")
    opaque = not base.hasalpha()
    base = to_rgb(base)
    x, y = overlay_position(overlay, size, (base.width, base.height), dpr)
    out = base.composite2(layer, "over", x=x, y=y)
    if opaque:  # drawing on an opaque picture leaves it opaque: drop the alpha band
        out = out.extract_band(0, n=out.bands - 1)
    return out.cast("uchar") if out.format != "uchar" else out
