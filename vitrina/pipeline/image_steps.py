"""The image pipeline: probe -> derivatives -> signals."""

from __future__ import annotations

from dataclasses import dataclass

from vitrina import analysis
from vitrina.config import Settings
from vitrina.media import image as image_ops
from vitrina.media.probe import ImageInfo, Limits, probe
from vitrina.pipeline.steps import DerivativeOut, SignalOut, StepContext, StepResult, register

IMAGE = frozenset({"image"})
PREVIEW_VERSION = "2"  # 2: JPEG renditions decoded by OpenCV and area-averaged


def limits_of(settings: Settings) -> Limits:
    return Limits(max_pixels=settings.max_pixels, max_frames=settings.max_frames)


@dataclass(frozen=True)
class ProbeStep:
    name: str = "probe"
    version: str = "1"
    kinds: frozenset[str] = IMAGE
    requires: tuple[str, ...] = ()

    def run(self, ctx: StepContext) -> StepResult:
        with ctx.original_path() as path:
            return self.result_of(probe(path, limits_of(ctx.settings)))

    @staticmethod
    def result_of(info: ImageInfo) -> StepResult:
        """What the step records for a probe; ingest records it too, having probed already."""
        return StepResult(asset_updates={"width": info.width, "height": info.height, "meta": info.to_dict()})


def derivative_key(asset_id: str, width: int, fmt: str) -> str:
    # One key per (asset, width, format): a retried step overwrites its own blobs.
    return f"derivatives/{asset_id}/w{width}.{fmt}"


@dataclass(frozen=True)
class DerivativesStep:
    name: str = "derivatives"
    version: str = "1"
    kinds: frozenset[str] = IMAGE
    requires: tuple[str, ...] = ("probe",)

    def run(self, ctx: StepContext) -> StepResult:
        settings = ctx.settings
        formats = [f for f in settings.derivative_formats if f in image_ops.available_formats()]
        with ctx.original_path() as path:
            renditions = image_ops.make_derivatives(
                path, settings.derivative_widths, formats, quality=settings.derivative_quality,
                limits=limits_of(settings),
            )
        out = []
        for r in renditions:
            key = derivative_key(ctx.asset.id, r.width, r.format)
            ctx.store.put_bytes(key, r.data, durable=False)  # derived: can be made again
            out.append(DerivativeOut(r.width, r.height, r.format, r.mime, len(r.data), key))
        return StepResult(derivatives=out)


def smallest_derivative(ctx: StepContext) -> DerivativeOut | None:
    """The asset's smallest rendition (JPEG preferred): the cheap picture analysis reads."""
    return min(ctx.asset.derivatives, key=lambda d: (d.width, d.format != "jpeg"), default=None)


@dataclass(frozen=True)
class SignalsStep:
    """Runs every registered analyser over one small decoded preview."""

    name: str = "signals"
    kinds: frozenset[str] = IMAGE
    requires: tuple[str, ...] = ("derivatives",)

    @property
    def version(self) -> str:
        # A new preview or any analyser's new version makes this step's results stale.
        parts = [f"preview@{PREVIEW_VERSION}"]
        parts += [f"{a.name}@{a.version}" for a in analysis.all_analysers()]
        return ",".join(parts)

    def run(self, ctx: StepContext) -> StepResult:
        # The smallest derivative is already oriented sRGB and cheap to decode.
        smallest = smallest_derivative(ctx)
        if smallest is None:
            with ctx.original_path() as path:
                preview = image_ops.preview_array(path, limits=limits_of(ctx.settings))
        elif smallest.format == "jpeg":
            preview = image_ops.rendition_preview(ctx.store.read_bytes(smallest.blob_key))
        else:
            preview = image_ops.preview_array(ctx.store.read_bytes(smallest.blob_key))
        signals = []
        for analyser in analysis.all_analysers():
            (value,) = analyser.analyse([preview])
            signals.append(SignalOut(analyser.name, analyser.name, analyser.version, value))
        return StepResult(signals=signals)


for _step in (ProbeStep(), DerivativesStep(), SignalsStep()):
    register(_step)
