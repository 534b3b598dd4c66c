"""pHash version 2: the whole preview's hash, plus hashes of six regions and a pixel digest.

A whole-frame pHash moves by 15-30 bits when a picture is cropped to 80-85 % or gets a
corner watermark, as far as some different photos are apart. Hashing regions (the
centre at 90 % and 80 %, each 85 % corner) lets a crop match the region it was cut
from and a corner overlay be skipped by the regions that leave that corner out
(decision 024). The digest of the preview's pixels marks copies with the very same
pixels (a lossless re-save, a metadata edit): the exact tier.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy

from vitrina.analysis.base import check_image
from vitrina.analysis.phash import PhashAnalyser, phash_hex

#: region name -> (fraction of each side, anchor: where it sits, as fractions of the slack)
REGIONS: dict[str, tuple[float, tuple[float, float]]] = {
    "c90": (0.90, (0.5, 0.5)),
    "c80": (0.80, (0.5, 0.5)),
    "tl": (0.85, (0.0, 0.0)),
    "tr": (0.85, (1.0, 0.0)),
    "bl": (0.85, (0.0, 1.0)),
    "br": (0.85, (1.0, 1.0)),
}


@dataclass(frozen=True)
class RegionPhashAnalyser(PhashAnalyser):
    """Same name as version 1 and the same ``hash``: readers of ``hash`` are unaffected."""

    version: str = "2"

    def analyse(self, images: Sequence[numpy.ndarray]) -> list[dict]:
        return [region_signal(check_image(image)) for image in images]


def region_signal(image: numpy.ndarray) -> dict:
    return {
        "hash": phash_hex(image),
        "regions": {name: phash_hex(region(image, *box)) for name, box in REGIONS.items()},
        "pixels": pixel_digest(image),
    }


def region(image: numpy.ndarray, fraction: float, anchor: tuple[float, float]) -> numpy.ndarray:
    h, w = image.shape[:2]
    rh, rw = max(1, round(h * fraction)), max(1, round(w * fraction))
    y, x = round((h - rh) * anchor[1]), round((w - rw) * anchor[0])
    return numpy.ascontiguousarray(image[y:y + rh, x:x + rw])


def pixel_digest(image: numpy.ndarray) -> str:
    """128 bits of the SHA-256 of the preview's shape and pixels."""
    h = hashlib.sha256(f"{image.shape}".encode())
    h.update(numpy.ascontiguousarray(image).tobytes())
    return h.hexdigest()[:32]
