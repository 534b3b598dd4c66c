"""Approximate search on usearch's HNSW graph (decision 023).

usearch keys vectors by unsigned integers, so string ids get labels from a counter
kept here; a replaced vector gets a fresh label so that a query running beside the
writer never pairs an id with another vector's label.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Collection, Sequence

import numpy as np

from vitrina.search.locks import ReadWriteLock
from vitrina.search.packing import pack, unpack
from vitrina.search.vectors import (
    IndexUnreadable,
    check_batch,
    check_ids,
    check_known,
    check_query,
    check_shape,
)

#: graph edges per node ("M"): 16 is the usual balance of memory and recall
CONNECTIVITY = 16
#: candidates kept while inserting ("efConstruction")
EXPANSION_ADD = 128
#: candidates kept while searching ("ef"): the recall/latency knob (decision 023)
EXPANSION_SEARCH = 256

# cosine vectors arrive normalised (vectors.check_vectors), so the inner product is
# their cosine and saves usearch normalising every pair again (~15% per query);
# usearch reports 1 - similarity as the distance
_USEARCH_METRIC = {"cosine": "ip", "dot": "ip"}


def _usearch():
    # onnxruntime (the OCR and joint-model analysers) ends the process with a segmentation
    # fault when it is first imported after usearch (usearch 2.26.6, onnxruntime 1.32);
    # imported first, both work: so it goes first whenever it is installed
    if importlib.util.find_spec("onnxruntime") is not None:
        import onnxruntime  # noqa: F401
    import usearch
    from usearch.index import Index

    return usearch.__version__, Index


class HnswIndex:
    kind = "hnsw"

    def __init__(self, dim: int, metric: str = "cosine", *, connectivity: int = CONNECTIVITY,
                 expansion_add: int = EXPANSION_ADD,
                 expansion_search: int = EXPANSION_SEARCH, build_threads: int = 0) -> None:
        """``build_threads``: threads inserting a batch, 0 for every core. Parallel
        inserts race, so each build is a slightly different graph; 1 gives the same
        graph for the same adds in the same order (reproducible files and tests)."""
        check_shape(dim, metric)
        _, Index = _usearch()
        self.dim, self.metric = dim, metric
        self.connectivity = connectivity
        self.build_threads = build_threads
        self._lock = ReadWriteLock()
        self._graph = Index(ndim=dim, metric=_USEARCH_METRIC[metric], dtype="f32",
                            connectivity=connectivity, expansion_add=expansion_add,
                            expansion_search=expansion_search)
        self._labels: dict[str, int] = {}  # id -> label
        self._ids: dict[int, str] = {}  # label -> id
        self._next_label = 0

    def __len__(self) -> int:
        return len(self._labels)

    def __contains__(self, id_: object) -> bool:
        return id_ in self._labels

    def ids(self) -> list[str]:
        """Every id held, in no particular order."""
        with self._lock.reading():
            return list(self._labels)

    def add(self, ids: Sequence[str], vectors: np.ndarray) -> None:
        ids, array = check_batch(ids, vectors, self.dim, self.metric)
        if not ids:
            return
        with self._lock.writing():
            self._drop([id_ for id_ in ids if id_ in self._labels])
            labels = np.arange(self._next_label, self._next_label + len(ids), dtype=np.uint64)
            self._graph.add(labels, array, threads=self.build_threads)
            self._next_label += len(ids)
            for id_, label in zip(ids, labels.tolist(), strict=True):
                self._labels[id_], self._ids[label] = label, id_

    def remove(self, ids: Sequence[str]) -> None:
        ids = check_ids(ids)
        with self._lock.writing():
            check_known(ids, self._labels)
            self._drop(ids)

    def query(self, vector: np.ndarray, k: int, *,
              exclude: Collection[str] | None = None) -> list[tuple[str, float]]:
        v, skip = check_query(vector, k, self.dim, self.metric, exclude)
        with self._lock.reading():
            count = min(k + sum(id_ in self._labels for id_ in skip), len(self._labels))
            if count <= 0:
                return []
            found = self._graph.search(v, count, threads=1)
            out = []
            for label, distance in zip(found.keys.tolist(), found.distances.tolist(), strict=True):
                id_ = self._ids.get(label)
                if id_ is not None and id_ not in skip:
                    out.append((id_, 1.0 - distance))
            return out[:k]

    def save(self) -> bytes:
        version, _ = _usearch()
        with self._lock.reading():
            header = {
                "kind": self.kind, "dim": self.dim, "metric": self.metric,
                "library": f"usearch {version}", "next_label": self._next_label,
                "ids": list(self._labels), "labels": list(self._labels.values()),
                "connectivity": self.connectivity,
                "expansion_search": self._graph.expansion_search,
                "expansion_add": self._graph.expansion_add,
            }
            return pack(header, self._graph.save())

    @classmethod
    def load(cls, data: bytes) -> HnswIndex:
        header, payload = unpack(data, cls.kind)
        _, Index = _usearch()
        try:
            index = cls(header["dim"], header["metric"], connectivity=header["connectivity"],
                        expansion_add=header["expansion_add"],
                        expansion_search=header["expansion_search"])
            graph = Index.restore(bytes(payload))
            ids, labels = header["ids"], header["labels"]
            if graph is None or graph.ndim != index.dim or len(graph) != len(ids):
                raise ValueError(f"graph of {len(graph) if graph else 0} vectors for {len(ids)} ids")
            if len(ids) != len(labels) or len(set(ids)) != len(ids):
                raise ValueError("ids and labels do not pair up")
            graph.expansion_search = header["expansion_search"]
            graph.expansion_add = header["expansion_add"]
        except IndexUnreadable:
            raise
        except (RuntimeError, ValueError, TypeError, KeyError, OverflowError) as exc:
            # usearch raises plain RuntimeErrors on bad files; the header may be wrong too
            raise IndexUnreadable("The stored HNSW index is inconsistent.",
                                  details={"error": str(exc)[:200]}) from None
        index._graph = graph
        index._labels = dict(zip(ids, labels, strict=True))
        index._ids = dict(zip(labels, ids, strict=True))
        index._next_label = header["next_label"]
        return index

    def _drop(self, ids: list[str]) -> None:
        if ids:
            labels = [self._labels.pop(id_) for id_ in ids]
            for label in labels:
                del self._ids[label]
            self._graph.remove(np.asarray(labels, dtype=np.uint64))


class HnswIndexKind:
    name = "hnsw"

    def __init__(self, *, connectivity: int = CONNECTIVITY, expansion_add: int = EXPANSION_ADD,
                 expansion_search: int = EXPANSION_SEARCH) -> None:
        self.options = {"connectivity": connectivity, "expansion_add": expansion_add,
                        "expansion_search": expansion_search}

    @property
    def library(self) -> str:
        return f"usearch {_usearch()[0]}"

    def create(self, dim: int, metric: str) -> HnswIndex:
        return HnswIndex(dim, metric, **self.options)

    def load(self, data: bytes) -> HnswIndex:
        return HnswIndex.load(data)
