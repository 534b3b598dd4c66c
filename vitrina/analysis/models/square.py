"""The input image models of the ImageNet family take: a normalised centre square."""

from __future__ import annotations

import numpy
from PIL import Image

from vitrina.analysis.base import check_image


def centre_square(image: numpy.ndarray, size: int, mean: numpy.ndarray, std: numpy.ndarray) -> numpy.ndarray:
    """3 x size x size float32: the shorter side resized to ``size`` (bicubic), the
    centre cropped, each channel normalised by ``mean`` and ``std`` (of 0-1 values)."""
    h, w = check_image(image).shape[:2]
    scale = size / min(h, w)
    dims = (max(size, round(w * scale)), max(size, round(h * scale)))
    resized = numpy.asarray(Image.fromarray(image).resize(dims, Image.Resampling.BICUBIC))
    top, left = (dims[1] - size) // 2, (dims[0] - size) // 2
    crop = resized[top:top + size, left:left + size].astype(numpy.float32) / 255.0
    return ((crop - mean) / std).transpose(2, 0, 1)
