"""Render a transformation (the URL contract's :class:`~vitrina.delivery.ops.Ops`) on a
source image with libvips: one ordered list of small steps.

The source is decoded once with shrink-on-load (``thumbnail``) straight to the size
the plan needs, so a plain fit or fill costs what a bare ``thumbnail`` call costs.
Steps after it work on the small image: colour to sRGB, crop, rotate/mirror, pad,
effects, overlays; then the encoder writes the format with no metadata.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial

import pyvips

from vitrina.delivery.errors import InvalidOps
from vitrina.delivery.limits import DeliveryLimits, check_limits, check_output, check_source
from vitrina.delivery.ops import EFFECT_ORDER, GRAVITY_MODES, Ops
from vitrina.media import geometry
from vitrina.media.colour import to_rgb, to_srgb
from vitrina.media.encode import FORMATS, MIME, ON_REQUEST, auto_quality, encode
from vitrina.media.focus import Box, Focus, source_salient_point
from vitrina.media.geometry import Plan, Point, Rect
from vitrina.media.overlay import draw_overlays
from vitrina.media.source import Source, read_header, thumbnail

DEFAULT_LIMITS = DeliveryLimits()
# renders this small (source and output, no effects or overlays) finish in milliseconds:
# the time budget's watch (a callback per band of pixels) is skipped for them
_SMALL = 1_000_000


#: a stored rendition stands in for the original only when it is at least this many
#: times the size the render needs: JPEG artefacts shrink below a pixel and vanish
PROXY_MARGIN = 1.5


@dataclass(frozen=True)
class Proxy:
    """A smaller, upright, sRGB, opaque rendition of the same picture (a derivative made
    at ingest) that can be decoded instead of the original. ``open`` gives its source."""

    width: int
    height: int
    open: Callable[[], Source]


@dataclass(frozen=True)
class Rendered:
    data: bytes
    mime: str
    width: int
    height: int
    format: str


@dataclass
class _Render:
    source: Source
    ops: Ops
    fmt: str
    plan: Plan
    overlays: Mapping[str, Source]
    image: pyvips.Image = field(init=False)
    cropped: bool = False  # libvips' attention crop already made the crop


def transform(
    source: Source,
    ops: Ops,
    fmt: str,
    *,
    focus: Focus | None = None,
    overlays: Mapping[str, Source] | None = None,
    limits: DeliveryLimits = DEFAULT_LIMITS,
    size: tuple[int, int] | None = None,
    proxies: Sequence[Proxy] = (),
) -> Rendered:
    """Render ``ops`` on ``source`` as ``fmt`` (jpeg, png, webp, avif; see choose_format).

    ``focus`` is the asset's stored focus (faces, salient point) for g_auto/g_face;
    without it g_auto asks libvips' attention and g_face falls back to g_auto.
    ``overlays`` maps each ``l_`` asset id to its image. ``size`` is the source's
    upright width and height when known (the catalog has them): it saves reading
    the header again. ``proxies`` are smaller renditions of the same picture: the
    smallest one at least ``PROXY_MARGIN`` times the decoded size is read instead of
    the original (a 4000 px camera JPEG costs tens of milliseconds to decode, its
    1280 px rendition a few); crops in source pixels (``c_crop``) always read the
    original. The plan is made on the original's size either way, so the output's
    geometry does not depend on which one was read.
    """
    if fmt not in FORMATS:
        raise InvalidOps("f", f"cannot encode {fmt!r}", value=fmt)
    check_limits(ops, limits)
    if size is None:
        header = read_header(source)
        size = (header.width, header.height)
    check_source(*size, limits)
    dw, dh = geometry.display_size(*size, ops.r)
    point, face = _focal(source, ops, focus)
    plan = geometry.plan(ops, dw, dh, point, face)
    check_output(*plan.size, ops, limits)
    source = _smallest_proxy(proxies, ops, plan) or source
    render = _Render(source, ops, fmt, plan, overlays or {})
    for step in STEPS:
        step(render)
    image = render.image
    q = auto_quality(fmt, ops.dpr) if ops.q == "auto" else int(ops.q)
    small = size[0] * size[1] <= _SMALL and image.width * image.height <= _SMALL
    budget = None if small and not (ops.e or ops.l) else limits.max_render_seconds
    data = encode(image, fmt, q, ON_REQUEST, budget)
    return Rendered(data, MIME[fmt], image.width, image.height, fmt)


def _smallest_proxy(proxies: Sequence[Proxy], ops: Ops, plan: Plan) -> Source | None:
    if ops.c == "crop" or not proxies:
        return None
    box = plan.crop if plan.attention and plan.crop is not None else None
    need = _upright((box.w, box.h) if box is not None else plan.scaled, ops.r)
    fits = [p for p in proxies
            if p.width >= PROXY_MARGIN * need[0] and p.height >= PROXY_MARGIN * need[1]]
    return min(fits, key=lambda p: p.width).open() if fits else None


def _focal(source: Source, ops: Ops, focus: Focus | None) -> tuple[Point | None, Box | None]:
    """Focal point and face box in the display frame, for the gravities that need them."""
    if ops.c not in GRAVITY_MODES or ops.g not in ("auto", "face"):
        return None, None
    mirror = ops.fl == "h"
    box = focus.face_box() if focus is not None and ops.g == "face" else None
    if box is not None:
        shown = geometry.to_display_box(box, ops.r, mirror)
        return shown.centre, shown
    salient = focus.salient if focus is not None else None
    if salient is None and ops.c == "crop":  # no stored focus: find it now
        salient = source_salient_point(source)
    if salient is None:
        return None, None  # fill/thumb: libvips' attention crop while decoding
    return geometry.to_display_point(salient, ops.r, mirror), None


def _upright(size: tuple[int, int], r: int) -> tuple[int, int]:
    return (size[1], size[0]) if r in (90, 270) else size


def _load(s: _Render) -> None:
    if s.plan.attention and s.plan.crop is not None:
        w, h = _upright((s.plan.crop.w, s.plan.crop.h), s.ops.r)
        s.image = thumbnail(s.source, w, h, crop="attention")
        s.cropped = True
    else:
        w, h = _upright(s.plan.scaled, s.ops.r)
        s.image = thumbnail(s.source, w, h, size="force")


def _colour(s: _Render) -> None:
    s.image = to_srgb(s.image)


def _crop(s: _Render) -> None:
    crop = s.plan.crop
    if crop is None or s.cropped or (crop.w, crop.h) == s.plan.scaled:
        return
    dw, dh = s.plan.scaled
    area: Rect = geometry.to_upright_rect(crop, dw, dh, s.ops.r, s.ops.fl == "h")
    s.image = s.image.extract_area(area.x, area.y, area.w, area.h)


def _orient(s: _Render) -> None:
    if s.ops.r:
        s.image = s.image.rot(f"d{s.ops.r}")
    if s.ops.fl == "h":
        s.image = s.image.fliphor()


def _pad(s: _Render) -> None:
    if s.plan.canvas is None or s.plan.canvas == (s.image.width, s.image.height):
        return
    colour = [int(s.ops.b[i : i + 2], 16) for i in range(0, len(s.ops.b), 2)]
    image = to_rgb(s.image)
    if len(colour) == 4 or image.hasalpha():
        colour = colour[:3] + [colour[3] if len(colour) == 4 else 255]
        if not image.hasalpha():
            image = image.bandjoin_const(255)
    (cw, ch), (x, y) = s.plan.canvas, s.plan.offset
    s.image = image.embed(x, y, cw, ch, extend="background", background=colour)


def _effects(s: _Render) -> None:
    by_name = {e.name: e for e in s.ops.e}
    for name in EFFECT_ORDER:
        effect = by_name.get(name)
        if effect is None:
            continue
        if name == "grayscale":
            s.image = s.image.colourspace("b-w")
        else:
            sigma = (effect.sigma or 1.0) * s.ops.dpr
            s.image = _without_alpha(s.image, partial(_filter, name=name, sigma=sigma))


def _filter(image: pyvips.Image, name: str, sigma: float) -> pyvips.Image:
    if name == "blur":
        return image.gaussblur(sigma)
    sharpened = image.sharpen(sigma=sigma)  # works in LabS; come back to the input's space
    return sharpened.colourspace(image.interpretation).cast("uchar")


def _without_alpha(image: pyvips.Image, op: Callable[[pyvips.Image], pyvips.Image]) -> pyvips.Image:
    if not image.hasalpha():
        return op(image)
    colour, alpha = image.extract_band(0, n=image.bands - 1), image.extract_band(image.bands - 1)
    return op(colour).bandjoin(alpha)


def _overlays(s: _Render) -> None:
    if s.ops.l:
        s.image = draw_overlays(s.image, s.ops.l, s.overlays, s.ops.dpr)


def _flatten(s: _Render) -> None:
    """JPEG has no alpha: flatten onto the background colour ``b``."""
    if s.fmt == "jpeg" and s.image.hasalpha():
        rgb = [int(s.ops.b[i : i + 2], 16) for i in (0, 2, 4)]
        s.image = s.image.flatten(background=rgb if s.image.bands == 4 else [sum(rgb) // 3])
        s.image = s.image.cast("uchar") if s.image.format != "uchar" else s.image


STEPS: tuple[Callable[[_Render], None], ...] = (
    _load,
    _colour,
    _crop,
    _orient,
    _pad,
    _effects,
    _overlays,
    _flatten,
)
