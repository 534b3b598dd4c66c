"""The video kind: MP4, QuickTime, WebM and Matroska files.

Ingest probes the file with PyAV under the ``video`` limits (decision 016) and records
what it read. Pipeline: probe (done at ingest), then side by side: renditions (the
H.264/AAC ladder), poster (a representative frame, ingested as an image asset) and
storyboard (a sprite sheet with its WebVTT map, and the scene cuts) (decision 020).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from vitrina.analysis.base import AnalysisInput
from vitrina.config import Settings
from vitrina.errors import UnsupportedMediaType
from vitrina.kinds.video.poster import PosterStep
from vitrina.kinds.video.steps import VIDEO, ProbeStep, RenditionsStep, facts_of, limits_of
from vitrina.kinds.video.storyboard import StoryboardStep
from vitrina.media.sniff import MediaType, sniff
from vitrina.media.video import probe_video
from vitrina.pipeline.steps import Facts, Step

__all__ = ["VIDEO", "VideoKind"]


class VideoKind:
    name = VIDEO
    suffixes = frozenset({".mp4", ".m4v", ".mov", ".webm", ".mkv"})
    probe_step = ProbeStep.name
    transformable = False

    def sniff(self, head: bytes) -> MediaType | None:
        try:
            media = sniff(head)
        except UnsupportedMediaType:
            return None
        return media if media.kind == VIDEO else None

    def validate(self, path: Path, media: MediaType, settings: Settings) -> Facts:
        return facts_of(probe_video(path, media.ext, limits_of(settings)))

    def steps(self) -> Sequence[Step]:
        return (ProbeStep(), RenditionsStep(), PosterStep(), StoryboardStep())

    def inputs(self) -> Sequence[AnalysisInput]:
        return ()
