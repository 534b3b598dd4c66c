"""Decoded frames of a video, opened as safely as the probe opens it.

Every open goes through :func:`open_video`: the demuxer forced to the container the magic
bytes named and the probe's ``OPEN_OPTIONS`` (the ``file`` protocol only, no data
references), so a step decoding a stored original reads that one file and nothing else.
Frames come out upright: the display matrix (``rotation``) is applied to the pixels.

Two ways to read frames:

- :func:`scan` decodes the whole video once, keeping per frame only a few numbers from a
  tiny copy (brightness, change from the frame before: scene cuts and fades show in
  them), and, at chosen times or just after each cut, a small upright copy (storyboard
  tiles, poster candidates).
- :func:`frame_at` seeks to one time and decodes that frame at full size (the poster):
  a keyframe interval of decoding, not the whole video.
"""

from __future__ import annotations

import bisect
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy

from vitrina.errors import CorruptMedia, UnsupportedMediaType
from vitrina.media.video import DEMUXERS, OPEN_OPTIONS

#: the tiny copy each frame is compared on: enough to see cuts, cheap to make
TINY = (64, 36)
#: a new scene above this score. Scores here run at about two thirds of what ffmpeg's
#: ``select`` filter gives the same frames (measured: a larger copy does not close the
#: gap), so 0.2 here finds the cuts ``select='gt(scene,0.3)'`` finds (bikes.mp4: the
#: same four)
SCENE_THRESHOLD = 0.2


@contextmanager
def open_video(path: Path, container: str) -> Iterator[tuple[Any, Any]]:
    """``(container, first video stream or None)``, opened with the probe's hardening;
    a demuxer or decoder error is a 422 ``corrupt_media``."""
    import av

    demuxer = DEMUXERS.get(container)
    if demuxer is None:
        raise UnsupportedMediaType(f"{container!r} is not a video container Vitrina reads.",
                                   details={"container": container})
    try:
        with av.open(str(path), format=demuxer, options=dict(OPEN_OPTIONS)) as c:
            stream = c.streams.video[0] if c.streams.video else None
            if stream is not None:
                stream.thread_type = "AUTO"  # frame threads: same pixels, sooner
            yield c, stream
    except av.FFmpegError as err:
        raise CorruptMedia("The video cannot be decoded: it is truncated or corrupt.",
                           details={"reason": getattr(err, "strerror", None) or type(err).__name__}) from None


@dataclass(frozen=True)
class Grab:
    time: float  # seconds from the start of the video stream
    pixels: numpy.ndarray  # upright RGB, height x width x 3, uint8


@dataclass(frozen=True)
class Scan:
    """One decode of the whole video: per frame its time, mean brightness (0-1, of the
    video's own luma range) and change from the frame before (the mean absolute
    difference of its 8-bit Y, U and V samples over 100, as ffmpeg's ``select`` filter
    measures it: 0.3 is about 30 levels), plus the frames grabbed."""

    times: numpy.ndarray  # ascending: frames come out of the decoder in display order
    luma: numpy.ndarray
    change: numpy.ndarray
    grabs: tuple[Grab, ...]

    @cached_property
    def scene_scores(self) -> numpy.ndarray:
        """ffmpeg's scene score per frame: min(change, |change - previous change|), so a
        cut (one large jump) scores high and steady motion or a fade (many similar
        changes) scores low."""
        previous = numpy.concatenate(([0.0], self.change[:-1]))
        return numpy.clip(numpy.minimum(self.change, numpy.abs(self.change - previous)), 0.0, 1.0)

    def scene_times(self, threshold: float = SCENE_THRESHOLD) -> list[float]:
        """The times of frames that start a new scene (the first frame never does)."""
        return [round(float(t), 3) for t, s in zip(self.times[1:], self.scene_scores[1:], strict=True)
                if s > threshold]

    def steadiness(self, t: float, *, window: float = 0.5, threshold: float = SCENE_THRESHOLD) -> float:
        """1 for a frame in the middle of a steady shot, towards 0 for one at a cut (a
        scene starts within ``window`` seconds) or inside a fade (the brightness drifts by
        more than 0.03 over the window either side)."""
        lo = int(numpy.searchsorted(self.times, t - window, side="left"))
        hi = int(numpy.searchsorted(self.times, t + window, side="right"))
        if hi <= lo:
            return 1.0
        cut = bool((self.scene_scores[lo:hi] > threshold).any())
        drift = float(self.luma[lo:hi].max() - self.luma[lo:hi].min())
        return (0.25 if cut else 1.0) * min(1.0, max(0.05, 1 - (drift - 0.03) / 0.12))


def scan(path: Path, container: str, *, grab_times: Sequence[float] = (), grab_width: int = 160,
         grab_height: int | None = None, grab_after_cuts: float | None = None,
         on_grab: Callable[[Grab], None] | None = None, deadline: float | None = None,
         progress: Callable[[float], None] | None = None, duration: float | None = None) -> Scan:
    """Decode every frame once. For each of ``grab_times``, and ``grab_after_cuts`` seconds
    after each scene cut when given, the first frame at or after it is grabbed at
    ``grab_width`` x ``grab_height`` (displayed, upright): handed to ``on_grab`` when
    given (nothing kept), else kept in :attr:`Scan.grabs`. A time past the last frame gets
    the last frame. ``deadline`` (``time.monotonic()``) stops the decode with a
    :class:`TimeoutError`."""
    times: list[float] = []
    luma: list[float] = []
    change: list[float] = []
    grabs: list[Grab] = []
    keep = on_grab or grabs.append
    wanted = sorted(grab_times)
    previous: numpy.ndarray | None = None
    last: tuple[float, Any] | None = None
    with open_video(path, container) as (c, stream):
        if stream is None:
            return Scan(numpy.zeros(0), numpy.zeros(0), numpy.zeros(0), ())
        start = _start_of(stream)
        for i, frame in enumerate(_decode(c, stream)):
            t = _time_of(frame, stream, start)
            # Y, U and V planes one after the other, as ffmpeg's scene score reads them
            tiny = frame.reformat(width=TINY[0], height=TINY[1], format="yuv420p",
                                  interpolation="AREA").to_ndarray().astype(numpy.float32)
            times.append(t)
            luma.append(float(tiny[:TINY[1]].mean()) / 255)
            change.append(0.0 if previous is None else float(numpy.abs(tiny - previous).mean()) / 100)
            previous = tiny
            if grab_after_cuts is not None and len(change) > 1 and \
                    min(change[-1], abs(change[-1] - change[-2])) > SCENE_THRESHOLD:
                bisect.insort(wanted, t + grab_after_cuts)
            while wanted and t >= wanted[0] - 1e-6:
                wanted.pop(0)
                keep(Grab(t, upright(frame, grab_width, grab_height)))
            last = (t, frame)
            if i % 64 == 0:
                _check(deadline)
                if progress and duration:
                    progress(min(1.0, t / duration))
        if wanted and last is not None:  # the stream ends before these times
            tail = Grab(last[0], upright(last[1], grab_width, grab_height))
            for _ in wanted:
                keep(tail)
    return Scan(numpy.array(times), numpy.array(luma), numpy.array(change), tuple(grabs))


def frame_at(path: Path, container: str, t: float) -> Grab | None:
    """The first frame at or after ``t`` (else the last one), at full size and upright:
    a seek to the keyframe before ``t``, then decoding on to it."""
    with open_video(path, container) as (c, stream):
        if stream is None:
            return None
        start = _start_of(stream)
        c.seek(int((t + start) / stream.time_base) if stream.time_base else 0,
               stream=stream, backward=True, any_frame=False)
        found = None
        for frame in _decode(c, stream):
            found = frame
            if _time_of(frame, stream, start) >= t - 1e-6:
                break
        return None if found is None else Grab(_time_of(found, stream, start), upright(found, None, None))


def upright(frame: Any, width: int | None, height: int | None) -> numpy.ndarray:
    """The frame as displayed: RGB at ``width`` x ``height`` (the frame's own size when
    None), the display matrix's rotation applied to the pixels."""
    turns = (round(getattr(frame, "rotation", 0) or 0) // 90) % 4
    if width is not None and height is not None:
        # scaled before turning: a quarter turn swaps what width and height mean
        w, h = (height, width) if turns % 2 else (width, height)
        frame = frame.reformat(width=w, height=h, format="rgb24", interpolation="AREA")
    pixels = frame.to_ndarray(format="rgb24")
    # rotation is counter-clockwise degrees, as numpy.rot90 turns (ffmpeg's autorotate agrees)
    return numpy.ascontiguousarray(numpy.rot90(pixels, k=turns)) if turns else pixels


def luma_of(rgb: numpy.ndarray) -> numpy.ndarray:
    """BT.601 luma of an RGB array, as float32 on the 0-255 scale."""
    return _luma(rgb.astype(numpy.float32))


def _luma(rgb: numpy.ndarray) -> numpy.ndarray:
    return rgb[..., 0] * 0.299 + rgb[..., 1] * 0.587 + rgb[..., 2] * 0.114


def _decode(c: Any, stream: Any) -> Iterator[Any]:
    for packet in c.demux(stream):
        yield from packet.decode()


def _start_of(stream: Any) -> float:
    return float(stream.start_time * stream.time_base) if stream.start_time is not None and stream.time_base else 0.0


def _time_of(frame: Any, stream: Any, start: float) -> float:
    if frame.pts is None or stream.time_base is None:
        return 0.0
    return max(0.0, float(frame.pts * stream.time_base) - start)


def _check(deadline: float | None) -> None:
    if deadline is not None and time.monotonic() > deadline:
        raise TimeoutError("decoding the video ran over the step's time budget")


# --- how good a frame is as a poster -------------------------------------------------

#: frames are judged at this long side, so a sharpness number means the same at any size
JUDGE_SIDE = 480


@dataclass(frozen=True)
class FrameQuality:
    """A still's worth as a poster, each part 0-1: exposure (not near black or white),
    sharpness (variance of the Laplacian), contrast (luma spread), colourfulness
    (Hasler and Suesstrunk's measure)."""

    brightness: float  # mean luma, 0-1
    exposure: float
    sharpness: float
    contrast: float
    colour: float

    @property
    def score(self) -> float:
        # exposure gates: a sharp, colourful black frame is still a black frame
        return self.exposure * (0.5 * self.sharpness + 0.3 * self.contrast + 0.2 * self.colour)


def judge_size(width: int, height: int) -> tuple[int, int]:
    """A displayed ``width`` x ``height`` scaled down to :data:`JUDGE_SIDE` on the long side."""
    scale = min(1.0, JUDGE_SIDE / max(width, height, 1))
    return max(1, round(width * scale)), max(1, round(height * scale))


def frame_quality(rgb: numpy.ndarray) -> FrameQuality:
    """How good ``rgb`` is as a poster (judged at :data:`JUDGE_SIDE`, scaled down here
    when larger)."""
    import cv2

    h, w = rgb.shape[:2]
    scale = JUDGE_SIDE / max(h, w)
    if scale < 1:
        rgb = cv2.resize(rgb, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
    pixels = rgb.astype(numpy.float32)
    luma = _luma(pixels)
    mean = float(luma.mean()) / 255
    laplacian = float(cv2.Laplacian(luma, cv2.CV_32F).var())
    r, g, b = pixels[..., 0], pixels[..., 1], pixels[..., 2]
    rg, yb = r - g, (r + g) / 2 - b
    colourfulness = float(numpy.hypot(rg.std(), yb.std()) + 0.3 * numpy.hypot(rg.mean(), yb.mean()))
    return FrameQuality(
        brightness=round(mean, 4),
        exposure=_ramp(mean, 0.04, 0.2) * _ramp(1 - mean, 0.04, 0.2),
        sharpness=laplacian / (laplacian + 100.0),  # half at 100: soft video; a blur is ~10
        contrast=min(1.0, float(luma.std()) / 255 / 0.18),
        colour=min(1.0, colourfulness / 60.0),  # 60: "quite colourful" on their scale
    )


def _ramp(x: float, low: float, high: float) -> float:
    return min(1.0, max(0.0, (x - low) / (high - low)))
