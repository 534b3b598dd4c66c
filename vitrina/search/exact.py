"""Exact search with numpy: the reference every other index is measured against,
and the right choice below a few thousand vectors, where a scan is as fast as a graph."""

from __future__ import annotations

import io
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


class ExactIndex:
    kind = "exact"

    def __init__(self, dim: int, metric: str = "cosine") -> None:
        check_shape(dim, metric)
        self.dim, self.metric = dim, metric
        self._lock = ReadWriteLock()
        self._matrix = np.empty((0, dim), dtype=np.float32)  # capacity rows; the first len() used
        self._ids: list[str] = []  # row -> id
        self._rows: dict[str, int] = {}  # id -> row

    def __len__(self) -> int:
        return len(self._ids)

    def __contains__(self, id_: object) -> bool:
        return id_ in self._rows

    def ids(self) -> list[str]:
        """Every id held, in no particular order."""
        with self._lock.reading():
            return list(self._ids)

    def add(self, ids: Sequence[str], vectors: np.ndarray) -> None:
        ids, array = check_batch(ids, vectors, self.dim, self.metric)
        with self._lock.writing():
            new = [id_ for id_ in ids if id_ not in self._rows]
            self._reserve(len(self._ids) + len(new))
            for id_ in new:
                self._rows[id_] = len(self._ids)
                self._ids.append(id_)
            self._matrix[[self._rows[id_] for id_ in ids]] = array

    def remove(self, ids: Sequence[str]) -> None:
        ids = check_ids(ids)
        with self._lock.writing():
            check_known(ids, self._rows)
            for id_ in ids:
                # the last row moves into the hole, so used rows stay contiguous
                row, last = self._rows.pop(id_), len(self._ids) - 1
                if row != last:
                    moved = self._ids[last]
                    self._matrix[row] = self._matrix[last]
                    self._ids[row], self._rows[moved] = moved, row
                self._ids.pop()

    def query(self, vector: np.ndarray, k: int, *,
              exclude: Collection[str] | None = None) -> list[tuple[str, float]]:
        v, skip = check_query(vector, k, self.dim, self.metric, exclude)
        with self._lock.reading():
            # einsum stays on the calling thread: BLAS would start threads of its own
            # for one matrix-vector product, which costs more than it saves on busy
            # cores; concurrent queries already run side by side
            scores = np.einsum("ij,j->i", self._matrix[: len(self._ids)], v)
            for id_ in skip:
                row = self._rows.get(id_)
                if row is not None:
                    scores[row] = -np.inf
            wanted = min(k, len(scores) - sum(id_ in self._rows for id_ in skip))
            if wanted <= 0:
                return []
            top = np.argpartition(-scores, wanted - 1)[:wanted]
            top = top[np.argsort(-scores[top], kind="stable")]
            return [(self._ids[row], float(scores[row])) for row in top]

    def save(self) -> bytes:
        with self._lock.reading():
            buffer = io.BytesIO()
            np.save(buffer, self._matrix[: len(self._ids)], allow_pickle=False)
            header = {"kind": self.kind, "dim": self.dim, "metric": self.metric, "ids": self._ids}
            return pack(header, buffer.getbuffer())

    @classmethod
    def load(cls, data: bytes) -> ExactIndex:
        header, payload = unpack(data, cls.kind)
        try:
            index = cls(header["dim"], header["metric"])
            matrix = np.load(io.BytesIO(payload), allow_pickle=False)
            ids = header["ids"]
            if matrix.dtype != np.float32 or matrix.shape != (len(ids), index.dim):
                raise ValueError(f"matrix {matrix.shape} for {len(ids)} ids")
            if len(set(ids)) != len(ids):
                raise ValueError("repeated ids")
        except (KeyError, TypeError, ValueError) as exc:
            raise IndexUnreadable("The stored exact index is inconsistent.",
                                  details={"error": str(exc)[:200]}) from None
        index._matrix = np.array(matrix)
        index._ids = list(ids)
        index._rows = {id_: row for row, id_ in enumerate(ids)}
        return index

    def _reserve(self, rows: int) -> None:
        if rows > len(self._matrix):
            grown = np.empty((max(rows, 2 * len(self._matrix), 64), self.dim), dtype=np.float32)
            grown[: len(self._ids)] = self._matrix[: len(self._ids)]
            self._matrix = grown


class ExactIndexKind:
    name = "exact"
    library = f"numpy {np.__version__}"

    def create(self, dim: int, metric: str) -> ExactIndex:
        return ExactIndex(dim, metric)

    def load(self, data: bytes) -> ExactIndex:
        return ExactIndex.load(data)
