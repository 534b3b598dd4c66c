"""A plug-in for the backfill tests: a new analyser shaped like a model analyser (a
small batch size, a 1280-d embedding in the stored vector form), and cheap."""

from dataclasses import dataclass

import numpy as np

from vitrina.kinds.image.inputs import PREVIEW
from vitrina.search.vectors import encode_vector

DIM = 1280


def vector_of(image) -> np.ndarray:
    """A deterministic unit vector from the preview's pixels."""
    flat = np.resize(image.astype(np.float32).reshape(-1), DIM) + np.arange(DIM, dtype=np.float32) / DIM
    return flat / np.linalg.norm(flat)


@dataclass(frozen=True)
class FakeEmbedding:
    name: str = "fake_embedding"
    version: str = "1"
    input: object = PREVIEW
    model: str = "fake-net@1"
    batch_size: int = 3

    def analyse(self, items):
        assert len(items) <= self.batch_size
        return [{"embedding": encode_vector(vector_of(i)), "batch": len(items)} for i in items]


def register(registries):
    registries.analysers.add(FakeEmbedding())
