"""The analyser interface and its registry.

An analyser turns preview images (HxWx3 uint8 sRGB, see
:func:`vitrina.media.image.preview_array`) into small JSON-able signals. Its
``name`` keys the stored result and its ``version`` says when stored results
are stale: raise it whenever the output for the same image can change.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy

from vitrina.errors import InvalidInput


@runtime_checkable
class Analyser(Protocol):
    name: str
    version: str

    def analyse(self, images: Sequence[numpy.ndarray]) -> list[dict]:
        """One JSON-able result dict per image, in order."""
        ...


class UnknownAnalyser(KeyError):
    """No analyser of that name; the message lists the known ones."""

    def __str__(self) -> str:  # KeyError would show the message quoted
        return str(self.args[0])


class Registry:
    """Analysers by name, in registration order."""

    def __init__(self) -> None:
        self._by_name: dict[str, Analyser] = {}

    def register(self, analyser: Analyser) -> None:
        name = getattr(analyser, "name", None)
        if not isinstance(name, str) or not name:
            raise TypeError(f"{analyser!r} has no name")
        if not isinstance(getattr(analyser, "version", None), str):
            raise TypeError(f"analyser {name!r} has no string version")
        if not callable(getattr(analyser, "analyse", None)):
            raise TypeError(f"analyser {name!r} has no analyse() method")
        if name in self._by_name:
            raise ValueError(f"an analyser named {name!r} is already registered")
        self._by_name[name] = analyser

    def get(self, name: str) -> Analyser:
        try:
            return self._by_name[name]
        except KeyError:
            known = ", ".join(self._by_name) or "none"
            raise UnknownAnalyser(f"no analyser named {name!r}; known: {known}") from None

    def all(self) -> list[Analyser]:
        return list(self._by_name.values())


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
