"""The image kind: stills (JPEG, PNG, WebP, GIF, AVIF, HEIC, TIFF).

Pipeline: probe (done at ingest) -> derivatives -> signals (the analysers over one
256 px preview decoded from the smallest JPEG derivative); with model analysers on,
also derivatives -> ocr (a page of up to 1280 px) and ocr + signals -> text (the
asset's text embedding; decision 025).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from vitrina.analysis.base import AnalysisInput
from vitrina.config import Settings
from vitrina.errors import UnsupportedMediaType
from vitrina.kinds.image.inputs import IMAGE, PAGE, PREVIEW, TEXT
from vitrina.kinds.image.steps import DerivativesStep, ProbeStep, facts_of, limits_of
from vitrina.media.probe import verify_decodes
from vitrina.media.sniff import MediaType, sniff
from vitrina.pipeline.steps import Facts, Step

__all__ = ["IMAGE", "PREVIEW", "ImageKind"]


class ImageKind:
    name = IMAGE
    suffixes = frozenset({".jpg", ".jpeg", ".png", ".webp", ".gif", ".avif", ".heic", ".heif",
                          ".tif", ".tiff"})
    probe_step = ProbeStep.name
    transformable = True

    def sniff(self, head: bytes) -> MediaType | None:
        try:
            media = sniff(head)
        except UnsupportedMediaType:
            return None
        return media if media.kind == IMAGE else None

    def validate(self, path: Path, media: MediaType, settings: Settings) -> Facts:
        # probes the header first: bombs are refused before decoding
        return facts_of(verify_decodes(path, limits_of(settings)))

    def steps(self) -> Sequence[Step]:
        return (ProbeStep(), DerivativesStep())

    def inputs(self) -> Sequence[AnalysisInput]:
        return (PREVIEW, PAGE, TEXT)
