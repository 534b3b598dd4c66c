"""BlurHash: a ~30-character placeholder that clients decode into a blurred preview."""

from __future__ import annotations

from collections.abc import Sequence

import blurhash as _blurhash  # blurhash-python: the reference C encoder
import numpy
from PIL import Image

from vitrina.analysis.base import box_resize, check_image
from vitrina.analysis.lab import linear_to_srgb, srgb_to_linear
from vitrina.analysis.preview import PreviewAnalyser


class BlurhashAnalyser(PreviewAnalyser):
    name = "blurhash"
    version = "2"  # 2: the C encoder on an 8-bit 32 px image (1: pure Python on linear floats)

    def __init__(self, components_x: int = 4, components_y: int = 3, size: int = 32) -> None:
        self.components_x, self.components_y, self.size = components_x, components_y, size

    def analyse(self, images: Sequence[numpy.ndarray]) -> list[dict]:
        return [{"hash": self.encode(check_image(image))} for image in images]

    def encode(self, image: numpy.ndarray) -> str:
        # The encoder is O(pixels x components): a ~32 px image is plenty for 4x3 terms,
        # downscaled in linear light as the BlurHash reference recommends.
        small = linear_to_srgb(box_resize(srgb_to_linear(image), self.size))
        pixels = Image.fromarray(numpy.rint(small).astype(numpy.uint8), "RGB")
        return _blurhash.encode(pixels, self.components_x, self.components_y)
