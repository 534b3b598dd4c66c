"""Perceptual hash (DCT, 64 bits) for near-duplicate detection."""

from __future__ import annotations

import re
from collections.abc import Sequence

import imagehash
import numpy
from PIL import Image

from vitrina.analysis.base import check_image
from vitrina.analysis.preview import PreviewAnalyser

_HEX64 = re.compile(r"[0-9a-f]{16}")


class PhashAnalyser(PreviewAnalyser):
    name = "phash"
    version = "1"

    def analyse(self, images: Sequence[numpy.ndarray]) -> list[dict]:
        return [{"hash": phash_hex(image)} for image in images]


def phash_hex(image: numpy.ndarray) -> str:
    """The 64-bit pHash of an HxWx3 uint8 image as 16 lower-case hex characters."""
    return str(imagehash.phash(Image.fromarray(check_image(image)), hash_size=8))


def phash_distance(a_hex: str, b_hex: str) -> int:
    """Hamming distance between two 64-bit pHashes (0 = same picture, >~20 = unrelated)."""
    for h in (a_hex, b_hex):
        if not isinstance(h, str) or not _HEX64.fullmatch(h.lower()):
            raise ValueError(f"not a 64-bit hex pHash: {h!r}")
    return (int(a_hex, 16) ^ int(b_hex, 16)).bit_count()
