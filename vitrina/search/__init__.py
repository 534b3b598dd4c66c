"""Vector indexes: similarity search over embeddings stored as signals.

Every index implements :class:`VectorIndex` and is made by an :class:`IndexKind`
registered by name (:func:`index_kinds`): ``exact`` (numpy, the reference and the
choice for small sets) and ``hnsw`` (usearch's HNSW graph, decision 023). Ids are
the caller's strings (asset ids); scores are similarities, higher is closer.
:mod:`vitrina.search.store` keeps indexes in the blob store with a manifest.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import numpy as np

from vitrina.search.vectors import METRICS, IndexUnreadable, UnknownVectorId

if TYPE_CHECKING:
    from vitrina.plugins import Registry

__all__ = [
    "METRICS",
    "IndexKind",
    "IndexUnreadable",
    "UnknownVectorId",
    "VectorIndex",
    "index_kinds",
]


@runtime_checkable
class VectorIndex(Protocol):
    """Vectors under string ids. Many queries may run at once with one writer."""

    kind: str
    dim: int
    metric: str

    def add(self, ids: Sequence[str], vectors: np.ndarray) -> None:
        """Add or replace one vector per id (``vectors`` has shape ``(len(ids), dim)``)."""
        ...

    def remove(self, ids: Sequence[str]) -> None:
        """Remove these ids; an id not in the index is an error and nothing is removed."""
        ...

    def query(
        self, vector: np.ndarray, k: int, *, exclude: Collection[str] | None = None
    ) -> list[tuple[str, float]]:
        """Up to ``k`` (id, similarity) pairs, most similar first, none of ``exclude``."""
        ...

    def __contains__(self, id_: object) -> bool: ...

    def __len__(self) -> int: ...

    def ids(self) -> list[str]:
        """Every id held, in no particular order (what an incremental update compares
        with the catalogue to find removals)."""
        ...

    def save(self) -> bytes:
        """The whole index as bytes that the same kind's ``load`` reads back."""
        ...


class IndexKind(Protocol):
    """Makes and reads back one implementation of :class:`VectorIndex`."""

    name: str
    #: the library and version whose files this kind writes (kept in the manifest)
    library: str

    def create(self, dim: int, metric: str) -> VectorIndex: ...

    def load(self, data: bytes) -> VectorIndex: ...


def index_kinds() -> Registry[IndexKind]:
    """A fresh registry holding the built-in index kinds."""
    from vitrina.plugins import Registry
    from vitrina.search.exact import ExactIndexKind
    from vitrina.search.hnsw import HnswIndexKind

    kinds: Registry[IndexKind] = Registry("vector index kind", ("name", "library", "create", "load"))
    kinds.add(ExactIndexKind())
    kinds.add(HnswIndexKind())
    return kinds
