"""The poster step: one representative frame of a video, stored as an image asset.

Candidates are evenly spaced times (after the first second, which is often black or a
title) and the moments just after each scene cut, all grabbed during one decode of the
whole video; each is judged on its own pixels
(exposure, sharpness, contrast, colour: :func:`vitrina.media.frames.frame_quality`) and
on the frames around it (a frame at a cut or inside a fade scores low:
:meth:`vitrina.media.frames.Scan.steadiness`). The best is a JPEG ingested as a new
image asset of the video's project (decision 020), so it gets the image kind's
derivatives, signals and URLs like any upload.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy
import pyvips

from vitrina.errors import QuotaExceeded, Unavailable, UploadRateExceeded
from vitrina.kinds.video.steps import VIDEO
from vitrina.media.encode import RENDITION, encode
from vitrina.media.frames import Grab, frame_at, frame_quality, judge_size, scan
from vitrina.media.video import VideoInfo
from vitrina.pipeline.steps import SignalOut, StepContext, StepResult, budget_of

#: evenly spaced candidates; a moment after every scene cut is one too
EVEN_CANDIDATES = 8
#: seconds skipped at the start (at most a fifth of the video)
LEAD_SECONDS = 1.0
#: seconds after a cut when the new shot has settled (past a dissolve's tail)
SETTLE_SECONDS = 0.5
POSTER_QUALITY = 90


@dataclass(frozen=True)
class PosterChoice:
    frame: Grab  # full size, upright
    score: float
    candidates: int


def lead_of(duration: float) -> float:
    return min(LEAD_SECONDS, duration / 5)


def even_times(duration: float) -> list[float]:
    """Evenly spaced times from the end of the lead to just before the end."""
    start = lead_of(duration)
    end = max(start, duration - min(0.5, duration / 10))
    return [round(start + (end - start) * i / (EVEN_CANDIDATES - 1), 3) for i in range(EVEN_CANDIDATES)]


def choose_poster(path: Path, container: str, info: VideoInfo, deadline: float | None,
                  progress: Callable[[float], None] | None = None) -> PosterChoice | None:
    """The best candidate frame, or None for a video without frames. One decode of the
    whole video judges every candidate on a copy 480 px on the long side; the winner is
    decoded again at full size (one seek)."""
    judged: dict[float, float] = {}  # time -> frame quality

    def judge(grab: Grab) -> None:
        if grab.time >= lead_of(info.duration) - 1e-6:
            judged.setdefault(grab.time, frame_quality(grab.pixels).score)

    width, height = judge_size(info.width, info.height)
    timeline = scan(path, container, grab_times=even_times(info.duration), grab_width=width,
                    grab_height=height, grab_after_cuts=SETTLE_SECONDS, on_grab=judge,
                    deadline=deadline, progress=progress, duration=info.duration)
    if not judged:
        return None
    # the frames around each candidate decide too: none at a cut or inside a fade
    scores = {t: quality * timeline.steadiness(t) for t, quality in judged.items()}
    best = max(sorted(scores), key=lambda t: scores[t])  # a tie keeps the earlier frame
    frame = frame_at(path, container, best)
    return None if frame is None else PosterChoice(frame, round(scores[best], 4), len(judged))


def poster_jpeg(pixels: numpy.ndarray) -> bytes:
    return encode(pyvips.Image.new_from_array(pixels, interpretation="srgb"), "jpeg", POSTER_QUALITY,
                  RENDITION)


@dataclass(frozen=True)
class PosterStep:
    """A representative frame, ingested as an image asset; a ``poster`` signal on the
    video names it. Audio only: nothing to do. A project over its storage or asset quota
    gets the signal without an asset (``asset_id: null``, ``refused``: the quota's code);
    one over its upload rate gets a retry (503)."""

    name: str = "poster"
    version: str = "1"
    kind: str = VIDEO
    requires: tuple[str, ...] = ("probe",)
    budget_seconds: float | None = None

    def run(self, ctx: StepContext) -> StepResult:
        info = VideoInfo.from_dict(ctx.asset.meta)
        if not info.has_video:
            return StepResult()
        budget = budget_of(self, ctx.settings)
        with ctx.original_path() as path:
            choice = choose_poster(path, info.container, info, time.monotonic() + budget, ctx.progress)
        if choice is None:
            return StepResult()
        value = {"asset_id": None, "time": round(choice.frame.time, 3), "score": choice.score,
                 "candidates": choice.candidates, "width": int(choice.frame.pixels.shape[1]),
                 "height": int(choice.frame.pixels.shape[0])}
        try:
            value["asset_id"] = self._ingest(ctx, poster_jpeg(choice.frame.pixels))
        except UploadRateExceeded as err:  # this minute's uploads are spent: a retry stores it
            raise Unavailable(err.message, code=err.code, details=err.details) from None
        except QuotaExceeded as err:
            # a full project keeps its video, ready and playable, and says why it has no poster
            value["refused"] = err.code
        return StepResult(signals=[SignalOut("poster", self.name, self.version, value)])

    def _ingest(self, ctx: StepContext, jpeg: bytes) -> str | None:
        """The poster asset's id; None when the step runs without an ingest hook (on its
        own, outside a worker): the choice is recorded, no asset is made."""
        if ctx.ingest is None:
            return None
        with tempfile.TemporaryDirectory(prefix="vitrina-poster-") as tmp:
            path = Path(tmp) / "poster.jpg"
            path.write_bytes(jpeg)
            # the same key on a retry: the ingest answers with the asset made the first time
            return ctx.ingest(path, f"{ctx.asset.id}.poster.jpg", f"poster-{ctx.asset.id}-{self.version}")
