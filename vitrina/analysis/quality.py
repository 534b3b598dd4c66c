"""Technical quality signals: sharpness and exposure."""

from __future__ import annotations

from collections.abc import Sequence

import numpy
from PIL import Image
from scipy import ndimage

from vitrina.analysis.base import check_image
from vitrina.analysis.preview import PreviewAnalyser

_LUMA = numpy.array([0.299, 0.587, 0.114])  # Rec. 601 weights on sRGB values
_DARK, _BRIGHT = 5, 250  # luma at or beyond these (of 255) counts as clipped


class QualityAnalyser(PreviewAnalyser):
    name = "quality"
    version = "1"

    def __init__(self, size: int = 256) -> None:
        # sharpness depends on scale, so it is always measured with the longest side at ``size``
        self.size = size

    def analyse(self, images: Sequence[numpy.ndarray]) -> list[dict]:
        return [self.measure(check_image(image)) for image in images]

    def measure(self, image: numpy.ndarray) -> dict:
        luma = image.astype(numpy.float64) @ _LUMA
        return {
            "sharpness": round(float(ndimage.laplace(self._fixed_size(luma)).var()), 3),
            "exposure": round(float(luma.mean() / 255), 5),
            "clipped_dark": round(float((luma <= _DARK).mean()), 5),
            "clipped_bright": round(float((luma >= _BRIGHT).mean()), 5),
        }

    def _fixed_size(self, luma: numpy.ndarray) -> numpy.ndarray:
        h, w = luma.shape
        scale = self.size / max(h, w)
        size = (max(1, round(w * scale)), max(1, round(h * scale)))
        resample = Image.Resampling.BOX if scale < 1 else Image.Resampling.BICUBIC
        grey = Image.fromarray(luma.astype(numpy.float32), mode="F").resize(size, resample)
        return numpy.asarray(grey, dtype=numpy.float64)
