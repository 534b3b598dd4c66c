"""The product image for a slot: decoded upright in sRGB by libvips, cropped to the
slot's aspect ratio around the subject (the faces, else the stored salient point, else
libvips attention computed now), and resized to the slot."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy
import pyvips
from PIL import Image

from vitrina.creative.model import Box
from vitrina.errors import InvalidInput
from vitrina.media import focus as media_focus
from vitrina.media.colour import to_srgb

MAX_PIXELS = 100_000_000
MAX_BYTES = 50 * 1024 * 1024


class InvalidCreativeImage(InvalidInput):
    code = "invalid_creative_image"


def _fail(message: str) -> InvalidCreativeImage:
    return InvalidCreativeImage(message, details={"field": "image"})


def decode(data: bytes) -> pyvips.Image:
    """Upright 8-bit sRGB without alpha (flattened on white)."""
    if not isinstance(data, bytes | bytearray) or not data:
        raise _fail("The product image must be non-empty encoded image bytes.")
    if len(data) > MAX_BYTES:
        raise _fail(f"The product image is larger than {MAX_BYTES} bytes.")
    try:
        image = pyvips.Image.new_from_buffer(bytes(data), "")
        if image.width * image.height > MAX_PIXELS:
            raise _fail(f"The product image has more than {MAX_PIXELS} pixels.")
        image = to_srgb(image.autorot())
        if image.hasalpha():
            image = image.flatten(background=[255] * (image.bands - 1))
        if image.bands == 1:
            image = image.bandjoin([image, image])
        return image.cast("uchar").copy_memory()
    except pyvips.Error:
        raise _fail("The product image could not be decoded.") from None


def subject(focus: Any = None, faces: Sequence[Sequence[float]] = ()) -> tuple[
        tuple[float, float] | None, tuple[float, float, float, float] | None]:
    """The subject's centre and, with faces, the box around them (normalised x0,y0,x1,y1).

    ``focus`` is the stored signal (a dict, as the focus analyser writes it) or a
    :class:`vitrina.media.focus.Focus`; ``faces`` are extra (x, y, w, h) boxes."""
    if isinstance(focus, Mapping):
        try:
            focus = media_focus.Focus.from_dict(dict(focus))
        except InvalidInput as err:
            raise InvalidInput(err.message, details={"field": "focus"}) from None
    elif focus is not None and not isinstance(focus, media_focus.Focus):
        raise InvalidInput("focus must be the stored focus signal.", details={"field": "focus"})
    try:
        extra = media_focus.Focus.from_dict({"faces": [list(f) for f in faces]}).faces
    except (TypeError, InvalidInput):
        raise InvalidInput("faces must be (x, y, w, h) boxes within 0..1.",
                           details={"field": "faces"}) from None
    boxes = (focus.faces if focus else ()) + extra
    if boxes:
        x0 = min(b.x for b in boxes)
        y0 = min(b.y for b in boxes)
        x1 = max(b.x + b.w for b in boxes)
        y1 = max(b.y + b.h for b in boxes)
        return ((x0 + x1) / 2, (y0 + y1) / 2), (x0, y0, x1, y1)
    if focus is not None and focus.salient is not None:
        return focus.salient, None
    return None, None


def crop_box(src_w: int, src_h: int, target_w: int, target_h: int,
             centre: tuple[float, float], keep: tuple[float, float, float, float] | None
             ) -> Box:
    """The largest crop of the target's aspect ratio centred on ``centre``, moved to
    contain ``keep`` (the faces) when it is large enough to, and kept inside the source."""
    ratio = target_w / target_h
    if src_w / src_h > ratio:
        ch, cw = src_h, max(1, min(src_w, round(src_h * ratio)))
    else:
        cw, ch = src_w, max(1, min(src_h, round(src_w / ratio)))

    def place(c: float, size: int, full: int, lo: float | None, hi: float | None) -> int:
        start = c * full - size / 2
        if lo is not None and hi is not None and (hi - lo) * full <= size:
            start = min(max(start, hi * full - size), lo * full)
        return round(min(max(start, 0), full - size))

    x = place(centre[0], cw, src_w, keep and keep[0], keep and keep[2])
    y = place(centre[1], ch, src_h, keep and keep[1], keep and keep[3])
    return (x, y, x + cw, y + ch)


def product_image(data: bytes, size: tuple[int, int], focus: Any = None,
                  faces: Sequence[Sequence[float]] = ()) -> tuple[Image.Image, Box]:
    """The slot's picture and the crop of the source it shows."""
    image = decode(data)
    centre, keep = subject(focus, faces)
    if centre is None:
        centre = media_focus.salient_point(image)
    box = crop_box(image.width, image.height, size[0], size[1], centre, keep)
    cropped = image.crop(box[0], box[1], box[2] - box[0], box[3] - box[1])
    resized = cropped.resize(size[0] / cropped.width, vscale=size[1] / cropped.height)
    # resize can round a side a pixel off; the slot size is exact
    if (resized.width, resized.height) != size:
        resized = resized.gravity("centre", size[0], size[1], extend="copy")
    pixels = numpy.ndarray(buffer=resized.write_to_memory(), dtype=numpy.uint8,
                           shape=(resized.height, resized.width, resized.bands))
    return Image.fromarray(pixels[:, :, :3].copy(), "RGB"), box
