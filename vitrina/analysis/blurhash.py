"""BlurHash: a ~30-character placeholder that clients decode into a blurred preview."""

from __future__ import annotations

from collections.abc import Sequence

import blurhash as _blurhash
import numpy

from vitrina.analysis.base import box_resize, check_image
from vitrina.analysis.lab import srgb_to_linear


class BlurhashAnalyser:
    name = "blurhash"
    version = "1"

    def __init__(self, components_x: int = 4, components_y: int = 3, size: int = 32) -> None:
        self.components_x, self.components_y, self.size = components_x, components_y, size

    def analyse(self, images: Sequence[numpy.ndarray]) -> list[dict]:
        return [{"hash": self.encode(check_image(image))} for image in images]

    def encode(self, image: numpy.ndarray) -> str:
        # The encoder is pure Python and O(pixels x components): work on a ~32 px image,
        # downscaled in linear light as the BlurHash reference recommends.
        small = box_resize(srgb_to_linear(image), self.size)
        return _blurhash.encode(small.tolist(), self.components_x, self.components_y, linear=True)
