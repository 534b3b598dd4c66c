"""Every encoder Vitrina writes images with, its options, and the render time budget.

Two kinds of output use them, with different efforts, so the options come as two
named presets:

- :data:`RENDITION` for derivatives, made once at ingest and served many times: bytes
  saved on every later download are worth encoder time (JPEG Huffman tables fitted to
  the image, WebP at libvips' default effort). The caller's quality is on the JPEG
  scale for every format, so AVIF takes an offset.
- :data:`ON_REQUEST` for transformations, rendered while a client waits: faster
  settings for files a few per cent larger; ``q_`` (or ``q_auto``, :func:`auto_quality`)
  is the encoder's own Q.

Every encoder writes no metadata at all (``keep="none"``): no EXIF, GPS, XMP or ICC
profile; pixels are sRGB by then, which is what a profile-less image means.
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import pyvips

from vitrina.delivery.errors import RenderTimeout
from vitrina.media.source import decode_error

#: every format Vitrina encodes (names as everywhere inside Vitrina: ``jpeg``, not ``jpg``)
FORMATS = ("jpeg", "png", "webp", "avif")
MIME = {"jpeg": "image/jpeg", "png": "image/png", "webp": "image/webp", "avif": "image/avif"}
_SAVERS = {"jpeg": "jpegsave_buffer", "png": "pngsave_buffer", "webp": "webpsave_buffer",
           "avif": "heifsave_buffer"}  # fmt: skip
#: options every output of a format gets, whatever the preset
_ALWAYS: dict[str, dict[str, Any]] = {
    "jpeg": {}, "png": {}, "webp": {}, "avif": {"compression": "av1", "bitdepth": 8},
}  # fmt: skip
#: formats whose encoder takes a quality (PNG is lossless)
_LOSSY = ("jpeg", "webp", "avif")


@dataclass(frozen=True)
class Preset:
    """Encoder options per format for one kind of output."""

    name: str
    options: Mapping[str, Mapping[str, Any]]
    #: added to the caller's quality, per format
    q_offset: Mapping[str, int] = field(default_factory=dict)


RENDITION = Preset(
    "rendition",
    {
        "jpeg": {"optimize_coding": True},
        "png": {"compression": 6},
        "webp": {},  # libvips' default effort (4)
        # AV1 effort 0 (fastest) keeps AVIF encoding within ~2x of WebP at its default
        # effort (1280 px: ~0.2 s vs ~0.25 s on 2 cores); effort 4 is ~35x slower for
        # files only ~15% smaller
        "avif": {"effort": 0},
    },
    # AVIF's Q scale buys more quality per step than JPEG/WebP: this offset gives about
    # the same visual quality as the JPEG at the caller's number, at a smaller size
    q_offset={"avif": -15},
)
ON_REQUEST = Preset(
    "on_request",
    {
        "jpeg": {},
        "png": {"compression": 6},
        "webp": {"effort": 2},  # ~2x faster than the default 4 for files ~3% larger
        # AV1 effort 0..9: 4 (libvips' default) is ~30x slower than 0 for ~10% smaller files
        "avif": {"effort": 1},
    },
)
#: ``q_auto`` per format at dpr < 2 and at dpr >= 2 (dense screens hide more artefacts)
_AUTO_QUALITY = {"jpeg": (80, 70), "png": (100, 100), "webp": (80, 70), "avif": (60, 50)}


def auto_quality(fmt: str, dpr: float) -> int:
    low, dense = _AUTO_QUALITY[fmt]
    return dense if dpr >= 2 else low


def encode(image: pyvips.Image, fmt: str, quality: int, preset: Preset,
           seconds: float | None = None) -> bytes:  # fmt: skip
    """``image`` as ``fmt`` with ``preset``'s options; the pipeline behind ``image`` runs
    here, and is stopped (503 ``render_timeout``) when it runs over ``seconds``."""
    options = {**_ALWAYS[fmt], **preset.options[fmt], "keep": "none"}
    if fmt in _LOSSY:
        options["Q"] = max(1, quality + preset.q_offset.get(fmt, 0))
    if seconds is None:
        return _save(image, fmt, options, None)
    # a copy of our own: libvips' operation cache shares identical images between
    # requests, and a kill flag must not outlive this render
    image = image.copy(xoffset=next(_renders) % 1_000_000_000)
    watchdog = default_watchdog()
    token = watchdog.watch(image, seconds)
    try:
        return _save(image, fmt, options, seconds)
    finally:
        watchdog.cancel(token)


def _save(image: pyvips.Image, fmt: str, options: dict[str, Any], seconds: float | None) -> bytes:
    try:
        return pyvips.Operation.call(_SAVERS[fmt], image, **options)
    except pyvips.Error as err:
        if seconds is not None and "killed" in str(err.detail or ""):
            raise RenderTimeout(f"The image took longer than {seconds:g} s to render.") from None
        raise decode_error(err) from None


_renders = itertools.count()


class Watchdog:
    """Sets libvips' kill flag on an image whose render runs past its deadline.

    One thread watches every render of the process, so a render with a budget costs
    a heap push and a pop (a ``threading.Timer`` each started a thread per request).
    """

    def __init__(self) -> None:
        self._wake = threading.Condition()
        self._deadlines: list[tuple[float, int]] = []  # a heap; cancelled entries stay
        self._watched: dict[int, pyvips.Image] = {}  # token -> image, until done
        self._tokens = itertools.count()
        self._thread: threading.Thread | None = None

    def watch(self, image: pyvips.Image, seconds: float) -> int:
        with self._wake:
            if self._thread is None or not self._thread.is_alive():  # first use, or forked
                self._thread = threading.Thread(target=self._run, name="vitrina-render-watchdog",
                                                daemon=True)  # fmt: skip
                self._thread.start()
            token = next(self._tokens)
            self._watched[token] = image
            heapq.heappush(self._deadlines, (time.monotonic() + seconds, token))
            if self._deadlines[0][1] == token:
                self._wake.notify()  # an earlier deadline than the thread sleeps towards
            return token

    def cancel(self, token: int) -> None:
        with self._wake:
            self._watched.pop(token, None)  # drops the image: its memory is freed now

    def _run(self) -> None:
        with self._wake:
            while True:
                now = time.monotonic()
                while self._deadlines and (
                    self._deadlines[0][0] <= now or self._deadlines[0][1] not in self._watched
                ):
                    _, token = heapq.heappop(self._deadlines)
                    image = self._watched.pop(token, None)
                    if image is not None:
                        image.set_kill(True)
                timeout = self._deadlines[0][0] - now if self._deadlines else None
                self._wake.wait(timeout)


@lru_cache(maxsize=1)
def default_watchdog() -> Watchdog:
    """The process's watchdog, started on first use."""
    return Watchdog()
