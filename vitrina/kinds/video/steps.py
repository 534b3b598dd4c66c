"""The video kind's steps: probe."""

from __future__ import annotations

from dataclasses import dataclass

from vitrina.config import Settings
from vitrina.media.sniff import sniff
from vitrina.media.video import VideoInfo, VideoLimits, probe_video
from vitrina.pipeline.steps import Facts, StepContext, StepResult

VIDEO = "video"


def limits_of(settings: Settings) -> VideoLimits:
    v = settings.video
    return VideoLimits(max_duration_seconds=v.max_duration_seconds, max_bytes=v.max_bytes,
                       max_pixels=v.max_pixels, max_fps=v.max_fps, max_streams=v.max_streams)


def facts_of(info: VideoInfo) -> Facts:
    return Facts(width=info.width or None, height=info.height or None, meta=info.to_dict())


@dataclass(frozen=True)
class ProbeStep:
    name: str = "probe"
    version: str = "1"
    kind: str = VIDEO
    requires: tuple[str, ...] = ()
    budget_seconds: float | None = None

    def run(self, ctx: StepContext) -> StepResult:
        with ctx.original_path() as path:
            with open(path, "rb") as f:
                media = sniff(f.read(64))
            return StepResult(facts=facts_of(probe_video(path, media.ext, limits_of(ctx.settings))))

