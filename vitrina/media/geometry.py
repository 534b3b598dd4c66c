"""Where every output pixel comes from: pure arithmetic over sizes, no pixels.

All sizes are in the *display frame*: the source upright (EXIF applied), then
turned by ``r`` and mirrored by ``fl``. A :class:`Plan` says: resize the whole
display-frame source to ``scaled``, keep ``crop`` of it, and (pad) put that on a
``canvas`` at ``offset``. Rounding is half-up, and never below one pixel.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from vitrina.delivery.errors import OpOutOfRange
from vitrina.delivery.ops import COMPASS, Ops
from vitrina.media.focus import Box

Point = tuple[float, float]  # normalised 0..1, display frame
THUMB_MARGIN = 1.6  # c_thumb with faces: the face box grown this much fills the output


@dataclass(frozen=True)
class Rect:
    x: int
    y: int
    w: int
    h: int


@dataclass(frozen=True)
class Plan:
    scaled: tuple[int, int]
    crop: Rect | None = None
    canvas: tuple[int, int] | None = None
    offset: tuple[int, int] = (0, 0)
    #: the crop's position is for libvips' attention search (no stored focus)
    attention: bool = False

    @property
    def size(self) -> tuple[int, int]:
        if self.canvas:
            return self.canvas
        return (self.crop.w, self.crop.h) if self.crop else self.scaled


def plan(ops: Ops, sw: int, sh: int, point: Point | None = None, face: Box | None = None) -> Plan:
    """The plan for ``ops`` on a ``sw`` x ``sh`` display-frame source.

    ``point`` is the focal point for ``g_xy``/``g_auto``/``g_face`` (None: not known,
    so fill and thumb leave it to libvips' attention); ``face`` the faces' box, used
    by ``c_thumb,g_face`` to zoom onto the faces.
    """
    if ops.g == "xy":
        point = (ops.gx if ops.gx is not None else 0.5, ops.gy if ops.gy is not None else 0.5)
    w, h = _box(ops, sw, sh)
    if ops.c == "crop":
        return _crop(ops, sw, sh, w, h, point)
    d = ops.dpr
    W = None if w is None else w * d
    H = None if h is None else h * d
    if W is None and H is None:
        k = min(d, 1.0) if ops.c == "limit" else d
        return Plan((_r(sw * k), _r(sh * k)))
    fitted = _fit(sw, sh, W, H)
    if ops.c == "limit" and (fitted[0] > sw or fitted[1] > sh):
        return Plan((sw, sh))
    if W is None or H is None or ops.c in ("fit", "limit"):
        return Plan(fitted)
    out = (_r(W), _r(H))
    if ops.c == "scale":
        return Plan(out)
    if ops.c == "pad":
        fx, fy = COMPASS.get(ops.g, (0.5, 0.5))
        offset = (math.floor((out[0] - fitted[0]) * fx), math.floor((out[1] - fitted[1]) * fy))
        return Plan(fitted, canvas=out, offset=offset)
    if ops.c == "thumb" and ops.g == "face" and face is not None:
        return _thumb(sw, sh, out, face)
    return _fill(ops, sw, sh, out, point)


def _box(ops: Ops, sw: int, sh: int) -> tuple[float | None, float | None]:
    """Requested width and height in CSS pixels, the aspect ratio applied."""
    w, h, ar = ops.w, ops.h, ops.ar
    if ar is None:
        return w, h
    if w is None and h is None:  # the largest box of that shape inside the source
        return (sh * ar, sh) if sw / sh > ar else (sw, sw / ar)
    return (w, w / ar) if h is None else (h * ar, h)


def _fit(sw: int, sh: int, W: float | None, H: float | None) -> tuple[int, int]:
    if H is None or (W is not None and W / sw <= H / sh):
        assert W is not None
        return _r(W), _r(sh * W / sw)
    return _r(sw * H / sh), _r(H)


def _fill(ops: Ops, sw: int, sh: int, out: tuple[int, int], point: Point | None) -> Plan:
    ow, oh = out
    if ow / sw >= oh / sh:
        scaled = (ow, max(oh, _r(sh * ow / sw)))
    else:
        scaled = (max(ow, _r(sw * oh / sh)), oh)
    attention = ops.focal and point is None
    fx, fy = COMPASS.get(ops.g, (0.5, 0.5))
    px, py = point if point is not None and ops.focal else (None, None)
    x = _place(scaled[0], ow, fx, px)
    y = _place(scaled[1], oh, fy, py)
    return Plan(scaled, crop=Rect(x, y, ow, oh), attention=attention)


def _thumb(sw: int, sh: int, out: tuple[int, int], face: Box) -> Plan:
    """Zoom onto the faces: the smallest output-shaped region around the grown face box."""
    ow, oh = out
    ratio = ow / oh
    rw = max(face.w * sw * THUMB_MARGIN, face.h * sh * THUMB_MARGIN * ratio)
    rw = min(rw, sw, sh * ratio)
    rh = rw / ratio
    rx = min(max((face.x + face.w / 2) * sw - rw / 2, 0.0), sw - rw)
    ry = min(max((face.y + face.h / 2) * sh - rh / 2, 0.0), sh - rh)
    k = ow / rw
    scaled = (max(ow, _r(sw * k)), max(oh, _r(sh * k)))
    x = min(max(_r0(rx * k), 0), scaled[0] - ow)
    y = min(max(_r0(ry * k), 0), scaled[1] - oh)
    return Plan(scaled, crop=Rect(x, y, ow, oh))


def _crop(
    ops: Ops, sw: int, sh: int, w: float | None, h: float | None, point: Point | None
) -> Plan:
    """c_crop: a region in source pixels, then scaled by dpr."""
    if ops.x is not None or ops.y is not None:
        x0, y0 = ops.x or 0, ops.y or 0
        if x0 >= sw or y0 >= sh:
            op = "x" if x0 >= sw else "y"
            raise OpOutOfRange(
                op, f"crop starts outside the {sw}x{sh} source", value=str(x0 if op == "x" else y0)
            )
        rw = min(_r(w) if w else sw, sw - x0)
        rh = min(_r(h) if h else sh, sh - y0)
    else:
        rw, rh = min(_r(w) if w else sw, sw), min(_r(h) if h else sh, sh)
        fx, fy = COMPASS.get(ops.g, (0.5, 0.5))
        px, py = point if point is not None and ops.focal else (None, None)
        x0, y0 = _place(sw, rw, fx, px), _place(sh, rh, fy, py)
    d = ops.dpr
    scaled = (_r(sw * d), _r(sh * d))
    ow, oh = min(_r(rw * d), scaled[0]), min(_r(rh * d), scaled[1])
    x, y = min(_r0(x0 * d), scaled[0] - ow), min(_r0(y0 * d), scaled[1] - oh)
    return Plan(scaled, crop=Rect(x, y, ow, oh))


def _place(total: int, size: int, anchor: float, point: float | None) -> int:
    free = total - size
    if point is None:
        return math.floor(free * anchor)
    return min(max(_r0(point * total - size / 2), 0), free)


def _r(x: float) -> int:
    return max(1, math.floor(x + 0.5))


def _r0(x: float) -> int:
    return math.floor(x + 0.5)


# --- frames: upright source <-> display frame (rotated by r clockwise, then mirrored) ---
def display_size(width: int, height: int, r: int) -> tuple[int, int]:
    return (height, width) if r in (90, 270) else (width, height)


def to_display_point(p: Point, r: int, mirror: bool) -> Point:
    u, v = p
    x, y = {0: (u, v), 90: (1 - v, u), 180: (1 - u, 1 - v), 270: (v, 1 - u)}[r]
    return (1 - x, y) if mirror else (x, y)


def to_display_box(b: Box, r: int, mirror: bool) -> Box:
    x0, y0 = to_display_point((b.x, b.y), r, mirror)
    x1, y1 = to_display_point((b.x + b.w, b.y + b.h), r, mirror)
    return Box(min(x0, x1), min(y0, y1), abs(x1 - x0), abs(y1 - y0))


def to_upright_rect(rect: Rect, dw: int, dh: int, r: int, mirror: bool) -> Rect:
    """The region of the upright image that becomes ``rect`` of the display frame."""
    x, y, w, h = rect.x, rect.y, rect.w, rect.h
    if mirror:
        x = dw - x - w
    if r == 90:
        return Rect(y, dw - x - w, h, w)
    if r == 180:
        return Rect(dw - x - w, dh - y - h, w, h)
    if r == 270:
        return Rect(dh - y - h, x, h, w)
    return Rect(x, y, w, h)
