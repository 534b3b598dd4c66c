"""The analyser interface.

An analyser turns inputs a media kind makes (for images, a 256 px HxWx3 uint8 sRGB
preview) into small JSON-able signals. Its ``name`` keys the stored result and its
``version`` says when stored results are stale. The runtime owns the registry
(:class:`vitrina.plugins.Registries`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy

from vitrina.errors import InvalidInput

if TYPE_CHECKING:
    from vitrina.pipeline.steps import StepContext


@dataclass(frozen=True)
class AnalysisInput:
    """What analysers read, made once per asset for all of them (e.g. the image kind's
    256 px preview). ``step`` names the pipeline step that runs the analysers over it;
    it runs once ``requires`` are done. Raising ``version`` makes every result made
    from this input stale."""

    kind: str
    name: str
    version: str
    step: str
    requires: tuple[str, ...]
    load: Callable[[StepContext], Any]


@runtime_checkable
class Analyser(Protocol):
    name: str
    #: raise whenever the output for the same input can change: only this analyser's
    #: results become stale
    version: str
    input: AnalysisInput
    #: identity of the model behind the results (``name@version``), None for plain code
    model: str | None
    #: how many inputs one ``analyse`` call takes at most (backfills batch across assets)
    batch_size: int

    def analyse(self, items: Sequence[Any]) -> list[dict]:
        """One JSON-able result dict per item, in order."""
        ...


def check_image(image: numpy.ndarray) -> numpy.ndarray:
    """Refuse anything but an HxWx3 uint8 array (a common mistake: RGBA or grey)."""
    if not isinstance(image, numpy.ndarray) or image.dtype != numpy.uint8:
        raise InvalidInput(
            f"expected a uint8 numpy array, got {getattr(image, 'dtype', type(image))}"
        )
    if image.ndim != 3 or image.shape[2] != 3 or image.shape[0] < 1 or image.shape[1] < 1:
        raise InvalidInput(f"expected an HxWx3 sRGB array, got shape {image.shape}")
    return image


def box_resize(image: numpy.ndarray, longest: int) -> numpy.ndarray:
    """Area-average ``image`` (HxW or HxWxC, any dtype) so its longest side is at most ``longest``.

    Never upscales; returns float64.
    """
    h, w = image.shape[:2]
    scale = min(1.0, longest / max(h, w))
    out_h, out_w = max(1, round(h * scale)), max(1, round(w * scale))
    a = numpy.asarray(image, dtype=numpy.float64)
    rows = numpy.searchsorted(numpy.arange(h) * out_h // h, numpy.arange(out_h))
    cols = numpy.searchsorted(numpy.arange(w) * out_w // w, numpy.arange(out_w))
    sums = numpy.add.reduceat(numpy.add.reduceat(a, rows, axis=0), cols, axis=1)
    counts = numpy.diff(numpy.append(rows, h))[:, None] * numpy.diff(numpy.append(cols, w))[None, :]
    return sums / (counts if a.ndim == 2 else counts[..., None])
