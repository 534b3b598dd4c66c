"""The poster step: one representative frame of a video, stored as an image asset.

Candidates are evenly spaced times (after the first second, which is often black or a
title) and the moments just after each scene cut; each is judged on its own pixels
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

from vitrina.kinds.video.steps import VIDEO
from vitrina.media.encode import RENDITION, encode
from vitrina.media.frames import Grab, frame_quality, frames_at, scan
from vitrina.media.video import VideoInfo
from vitrina.pipeline.steps import SignalOut, StepContext, StepResult

#: evenly spaced candidates, and at most this many more after scene cuts
EVEN_CANDIDATES = 8
CUT_CANDIDATES = 8
#: seconds skipped at the start (at most a fifth of the video)
LEAD_SECONDS = 1.0
#: seconds after a cut when the new shot has settled (past a dissolve's tail)
SETTLE_SECONDS = 0.5
POSTER_QUALITY = 90


@dataclass(frozen=True)
class PosterChoice:
    frame: Grab
    score: float
    candidates: int


def candidate_times(duration: float, cuts: list[float]) -> list[float]:
    """Evenly spaced times from the end of the lead to just before the end, and a
    moment after each cut (spread over the video when there are many)."""
    start = min(LEAD_SECONDS, duration / 5)
    end = max(start, duration - min(0.5, duration / 10))
    times = [start + (end - start) * i / (EVEN_CANDIDATES - 1) for i in range(EVEN_CANDIDATES)]
    step = max(1, -(-len(cuts) // CUT_CANDIDATES))
    times += [c + SETTLE_SECONDS for c in cuts[::step] if start <= c + SETTLE_SECONDS <= end]
    return sorted({round(t, 3) for t in times})


def choose_poster(path: Path, container: str, duration: float, deadline: float | None,
                  progress: Callable[[float], None] | None = None) -> PosterChoice | None:
    """The best candidate frame (full size, upright), or None for a video without frames;
    ``progress`` hears how far the decode of the whole video is (most of the work)."""
    timeline = scan(path, container, deadline=deadline, progress=progress, duration=duration)
    if not len(timeline.times):
        return None
    times = candidate_times(duration, timeline.scene_times())
    best: tuple[float, Grab] | None = None
    judged = 0
    for grab in frames_at(path, container, times, deadline=deadline):
        judged += 1
        score = frame_quality(grab.pixels).score * timeline.steadiness(grab.time)
        if best is None or score > best[0]:  # a tie keeps the earlier frame
            best = (score, grab)
    return None if best is None else PosterChoice(best[1], round(best[0], 4), judged)


def poster_jpeg(pixels: numpy.ndarray) -> bytes:
    return encode(pyvips.Image.new_from_array(pixels, interpretation="srgb"), "jpeg", POSTER_QUALITY,
                  RENDITION)


@dataclass(frozen=True)
class PosterStep:
    """A representative frame, ingested as an image asset; a ``poster`` signal on the
    video names it. Audio only: nothing to do."""

    name: str = "poster"
    version: str = "1"
    kind: str = VIDEO
    requires: tuple[str, ...] = ("probe",)
    budget_seconds: float | None = None

    def run(self, ctx: StepContext) -> StepResult:
        info = VideoInfo.from_dict(ctx.asset.meta)
        if not info.has_video:
            return StepResult()
        budget = self.budget_seconds or ctx.settings.pipeline.step_budget_seconds
        with ctx.original_path() as path:
            choice = choose_poster(path, info.container, info.duration, time.monotonic() + budget,
                                   ctx.progress)
        if choice is None:
            return StepResult()
        value = {"asset_id": self._ingest(ctx, poster_jpeg(choice.frame.pixels)),
                 "time": round(choice.frame.time, 3), "score": choice.score, "candidates": choice.candidates,
                 "width": int(choice.frame.pixels.shape[1]), "height": int(choice.frame.pixels.shape[0])}
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
