"""The image kind's own steps: probe and derivatives."""

from __future__ import annotations

from dataclasses import dataclass

from vitrina.config import Settings
from vitrina.kinds.image.inputs import IMAGE
from vitrina.media import image as image_ops
from vitrina.media.probe import ImageInfo, Limits, probe
from vitrina.pipeline.steps import DerivativeOut, Facts, StepContext, StepResult


def limits_of(settings: Settings) -> Limits:
    return Limits(max_pixels=settings.ingest.max_pixels, max_frames=settings.ingest.max_frames)


def facts_of(info: ImageInfo) -> Facts:
    return Facts(width=info.width, height=info.height, meta=info.to_dict())


@dataclass(frozen=True)
class ProbeStep:
    name: str = "probe"
    version: str = "1"
    kind: str = IMAGE
    requires: tuple[str, ...] = ()
    budget_seconds: float | None = None

    def run(self, ctx: StepContext) -> StepResult:
        with ctx.original_path() as path:
            return StepResult(facts=facts_of(probe(path, limits_of(ctx.settings))))


def derivative_key(asset_id: str, width: int, fmt: str) -> str:
    # One key per (asset, width, format): a retried step overwrites its own blobs.
    return f"derivatives/{asset_id}/w{width}.{fmt}"


@dataclass(frozen=True)
class DerivativesStep:
    name: str = "derivatives"
    version: str = "1"
    kind: str = IMAGE
    requires: tuple[str, ...] = ("probe",)
    budget_seconds: float | None = None

    def run(self, ctx: StepContext) -> StepResult:
        settings = ctx.settings
        formats = [f for f in settings.derivatives.formats if f in image_ops.available_formats()]
        with ctx.original_path() as path:
            renditions = image_ops.make_derivatives(
                path, settings.derivatives.widths, formats, quality=settings.derivatives.quality,
                limits=limits_of(settings),
            )
        out = []
        for r in renditions:
            key = derivative_key(ctx.asset.id, r.width, r.format)
            ctx.store.put_bytes(key, r.data, durable=False)  # derived: can be made again
            out.append(DerivativeOut(r.width, r.height, r.format, r.mime, len(r.data), key))
        return StepResult(derivatives=out)
