"""The ``focus`` step: faces and the salient point of an image, found once at ingest
and stored as the signal ``focus``, so that ``g_face`` / ``g_auto`` never detect while
serving."""

from __future__ import annotations

from dataclasses import dataclass

from vitrina.delivery import focus
from vitrina.pipeline.image_steps import IMAGE, smallest_derivative
from vitrina.pipeline.steps import SignalOut, StepContext, StepResult, register

SIGNAL = "focus"


@dataclass(frozen=True)
class FocusStep:
    name: str = "focus"
    version: str = focus.VERSION  # detection's version: raising it makes stored focus stale
    kinds: frozenset[str] = IMAGE
    requires: tuple[str, ...] = ("derivatives",)

    def run(self, ctx: StepContext) -> StepResult:
        # The smallest derivative is upright sRGB at ~320 px: decoding it costs a few ms
        # where the original can cost tens, and coordinates are normalised either way.
        smallest = smallest_derivative(ctx)
        if smallest is None:
            with ctx.original_path() as path:
                found = focus.detect_focus(path)  # shrink-on-load inside
        else:
            found = focus.detect_focus(ctx.store.read_bytes(smallest.blob_key))
        return StepResult(
            signals=[SignalOut(SIGNAL, found.producer, found.version, found.to_dict())]
        )


register(FocusStep())
