"""Encoders per output format, the ``q_auto`` table, and the render time budget.

Every encoder writes no metadata at all (``keep="none"``): no EXIF, GPS, XMP or
ICC profile; pixels are sRGB by then, which is what a profile-less image means.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from dataclasses import dataclass

import pyvips

from vitrina.delivery.errors import RenderTimeout
from vitrina.delivery.negotiate import MIME
from vitrina.delivery.source import decode_error

_renders = itertools.count()


@dataclass(frozen=True)
class Encoder:
    mime: str
    #: quality for q_auto at dpr < 2 and at dpr >= 2 (dense screens hide more artefacts)
    auto_quality: tuple[int, int]
    save: Callable[[pyvips.Image, int], bytes]


def _jpg(image: pyvips.Image, q: int) -> bytes:
    return image.jpegsave_buffer(Q=q, keep="none")


def _png(image: pyvips.Image, q: int) -> bytes:
    return image.pngsave_buffer(compression=6, keep="none")


def _webp(image: pyvips.Image, q: int) -> bytes:
    # effort 2 is ~2x faster than the default 4 for files ~3% larger
    return image.webpsave_buffer(Q=q, effort=2, keep="none")


def _avif(image: pyvips.Image, q: int) -> bytes:
    # AV1 effort 0..9: 4 (libvips' default) is ~30x slower than 0 for ~10% smaller files
    return image.heifsave_buffer(Q=q, compression="av1", effort=1, bitdepth=8, keep="none")


ENCODERS: dict[str, Encoder] = {
    "jpg": Encoder(MIME["jpg"], (80, 70), _jpg),
    "png": Encoder(MIME["png"], (100, 100), _png),
    "webp": Encoder(MIME["webp"], (80, 70), _webp),
    "avif": Encoder(MIME["avif"], (60, 50), _avif),
}


def quality(q: int | str, fmt: str, dpr: float) -> int:
    if q != "auto":
        return int(q)
    low, dense = ENCODERS[fmt].auto_quality
    return dense if dpr >= 2 else low


def encode(image: pyvips.Image, fmt: str, q: int, seconds: float | None) -> bytes:
    """Run the pipeline into ``fmt``; stop it (503) when it runs over ``seconds``."""
    timer = None
    if seconds is not None:
        # a copy of our own: libvips' operation cache shares identical images between
        # requests, and a kill flag must not outlive this render
        image = image.copy(xoffset=next(_renders) % 1_000_000_000)
        # a timer sets libvips' kill flag: no Python call per tile on the hot path
        timer = threading.Timer(seconds, image.set_kill, args=(True,))
        timer.daemon = True
        timer.start()
    try:
        return ENCODERS[fmt].save(image, q)
    except pyvips.Error as err:
        if "killed" in str(err.detail or ""):
            raise RenderTimeout(f"The image took longer than {seconds:g} s to render.") from None
        raise decode_error(err) from None
    finally:
        if timer is not None:
            timer.cancel()
