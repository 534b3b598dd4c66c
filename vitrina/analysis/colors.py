"""Dominant colours: k-means in CIELAB, so clusters follow perceived colour differences."""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy
from scipy.cluster.vq import kmeans2

from vitrina.analysis.base import box_resize, check_image
from vitrina.analysis.lab import lab_to_srgb, linear_to_srgb, srgb_to_lab, srgb_to_linear
from vitrina.analysis.preview import PreviewAnalyser


class ColorsAnalyser(PreviewAnalyser):
    name = "colors"
    version = "1"

    def __init__(self, k: int = 5, sample: int = 64, seed: int = 0) -> None:
        # ``sample`` px on the longest side (<= 4,096 pixels) is plenty for 5 clusters
        self.k, self.sample, self.seed = k, sample, seed

    def analyse(self, images: Sequence[numpy.ndarray]) -> list[dict]:
        return [{"colors": self.dominant(check_image(image))} for image in images]

    def dominant(self, image: numpy.ndarray) -> list[dict]:
        small = linear_to_srgb(box_resize(srgb_to_linear(image), self.sample))
        pixels = numpy.rint(small).astype(numpy.uint8).reshape(-1, 3)
        lab = srgb_to_lab(pixels)
        # k-means++ needs at least k distinct points; unique over packed 24-bit ints is
        # far cheaper than numpy.unique(axis=0)
        packed = pixels.astype(numpy.uint32) @ numpy.array([1 << 16, 1 << 8, 1], numpy.uint32)
        k = min(self.k, len(numpy.unique(packed)))
        if k == 1:
            centres, labels = lab.mean(axis=0, keepdims=True), numpy.zeros(len(lab), dtype=int)
        else:
            with warnings.catch_warnings():  # an emptied cluster is dropped below
                warnings.simplefilter("ignore")
                centres, labels = kmeans2(
                    lab, k, iter=20, minit="++", seed=numpy.random.default_rng(self.seed)
                )
        counts = numpy.bincount(labels, minlength=len(centres))
        found = [
            {
                "hex": _hex(lab_to_srgb(centres[i])),
                "fraction": round(float(counts[i] / len(lab)), 4),
            }
            for i in range(len(centres))
            if counts[i] > 0
        ]
        return sorted(found, key=lambda c: (-c["fraction"], c["hex"]))


def _hex(rgb: numpy.ndarray) -> str:
    r, g, b = (int(v) for v in numpy.clip(numpy.rint(rgb), 0, 255))
    return f"#{r:02x}{g:02x}{b:02x}"
