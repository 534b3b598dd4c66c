"""The video kind's steps: probe and renditions."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from vitrina.config import Settings
from vitrina.media.ladder import Rendition, make_ladder
from vitrina.media.sniff import ACCEPTED
from vitrina.media.video import VideoInfo, VideoLimits, probe_video
from vitrina.pipeline.steps import (
    DerivativeOut,
    Facts,
    SignalOut,
    StepContext,
    StepResult,
    budget_of,
)

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
            return StepResult(facts=facts_of(probe_video(path, container_of(ctx.asset.mime),
                                                         limits_of(ctx.settings))))


def container_of(mime: str) -> str:
    """The container (sniffed extension) of a video mime type."""
    return next(m.ext for m in ACCEPTED if m.mime == mime and m.kind == VIDEO)


def rendition_key(asset_id: str, r: Rendition) -> str:
    # One key per (asset, file): a retried step overwrites its own blobs. The HLS tree
    # keeps its relative layout under the asset's prefix, so its relative URIs resolve.
    return f"derivatives/{asset_id}/{r.name}"


@dataclass(frozen=True)
class RenditionsStep:
    """The H.264/AAC ladder (1080p to 360p, never above the source) as progressive MP4s
    and HLS, rates chosen per title, in one encode (decision 018)."""

    name: str = "renditions"
    version: str = "2"
    kind: str = VIDEO
    requires: tuple[str, ...] = ("probe",)
    budget_seconds: float | None = None

    def run(self, ctx: StepContext) -> StepResult:
        import imageio_ffmpeg

        timeout = budget_of(self, ctx.settings)
        out = []
        # the probe recorded at ingest (or by the probe step this one requires) says what
        # the ladder needs: no second demux of the whole file
        info = VideoInfo.from_dict(ctx.asset.meta)
        with ctx.original_path() as path, tempfile.TemporaryDirectory(prefix="vitrina-video-") as tmp:
            made = make_ladder(imageio_ffmpeg.get_ffmpeg_exe(), path, info.container, info, Path(tmp),
                               timeout=timeout, memory_bytes=ctx.settings.video.ffmpeg_memory_bytes,
                               progress=ctx.progress)
            for r in made.files:
                key = rendition_key(ctx.asset.id, r)
                size = r.path.stat().st_size
                ctx.store.put_file(key, r.path)
                out.append(DerivativeOut(r.width, r.height, r.format, r.mime, size, key))
        return StepResult(derivatives=out,
                          signals=[SignalOut("ladder", self.name, self.version, made.signal)])
