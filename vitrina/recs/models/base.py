"""What every built-in model shares: ranking a score matrix into top-k lists (with
exclusions and a fixed tie order), fold-in by default through ``scores_for_history``,
and saving as one ``.npz`` of arrays plus a JSON header.

A model implements ``_fit``, ``scores(users)`` (batch x items, float64),
``scores_for_history(items, weights)`` (items,), ``item_scores(items)`` (batch x items),
and ``_params()`` / ``_arrays()`` / ``_restore(arrays)`` for saving.
"""

from __future__ import annotations

import io
import json
from typing import Any, ClassVar

import numpy as np

_META = "__meta__"


def top_k(scores: np.ndarray, k: int, exclude: Any = None) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` highest scores of each row as (indices, scores); excluded positions
    (nonzeros of the CSR ``exclude``, one row per score row) never appear. Scores are
    ranked as float32 (a model's float64 arithmetic may differ in the last bits between
    a batch of 1 and a batch of 64; float32 hides that), equal scores by lowest index;
    missing places are item -1 with score -inf."""
    s = np.array(scores, dtype=np.float32, copy=True)
    if s.ndim != 2:
        raise ValueError(f"scores must be users x items, got shape {s.shape}")
    n, m = s.shape
    np.nan_to_num(s, copy=False, nan=-np.inf)
    if exclude is not None:
        if exclude.shape != (n, m):
            raise ValueError(f"exclude has shape {exclude.shape}; expected {(n, m)} "
                             "(one row per requested user)")
        ex = exclude.tocsr()
        rows = np.repeat(np.arange(n), np.diff(ex.indptr))
        s[rows, ex.indices] = -np.inf
    k = max(0, min(int(k), m))
    if k == 0:
        return np.empty((n, 0), np.int64), np.empty((n, 0), np.float32)
    if k < m // 4:
        # the k-th best value of each row; everything above it plus the lowest-index ties
        kth = -np.partition(-s, k - 1, axis=1)[:, k - 1:k]
        cand = s >= kth
        idx = np.empty((n, k), np.int64)
        for r in range(n):
            c = np.flatnonzero(cand[r])
            order = np.argsort(-s[r, c], kind="stable")[:k]
            idx[r] = c[order]
    else:
        idx = np.argsort(-s, axis=1, kind="stable")[:, :k]
    top = np.take_along_axis(s, idx, axis=1)
    idx[np.isneginf(top)] = -1
    return idx, top


def _as_indices(values: Any) -> np.ndarray:
    return np.atleast_1d(np.asarray(values, dtype=np.int64))


def saved_name(data: bytes) -> str:
    with np.load(io.BytesIO(data), allow_pickle=False) as z:
        return json.loads(bytes(z[_META]).decode())["name"]


def pack_sparse(prefix: str, m: Any) -> dict[str, np.ndarray]:
    m = m.tocsr()
    return {f"{prefix}.data": m.data, f"{prefix}.indices": m.indices,
            f"{prefix}.indptr": m.indptr, f"{prefix}.shape": np.asarray(m.shape)}


def unpack_sparse(prefix: str, arrays: dict[str, np.ndarray]):
    from scipy import sparse

    return sparse.csr_matrix((arrays[f"{prefix}.data"], arrays[f"{prefix}.indices"],
                              arrays[f"{prefix}.indptr"]), shape=tuple(arrays[f"{prefix}.shape"]))


class BaseModel:
    """Ranking, fold-in and saving over a model's score functions."""

    name: ClassVar[str]
    version: ClassVar[str]
    supports_history: ClassVar[bool] = True

    n_users: int = 0
    n_items: int = 0

    def fit(self, interactions: Any) -> BaseModel:
        self.n_users, self.n_items = interactions.n_users, interactions.n_items
        self._fit(interactions)
        self._fitted = True
        return self

    def _check_fitted(self) -> None:
        if not getattr(self, "_fitted", False):
            raise RuntimeError(f"recommender {self.name!r} is not fitted")

    # -- what a model implements -------------------------------------------------
    def _fit(self, interactions: Any) -> None:
        raise NotImplementedError

    def scores(self, users: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def scores_for_history(self, items: np.ndarray, weights: np.ndarray) -> np.ndarray:
        raise NotImplementedError(f"recommender {self.name!r} has no fold-in")

    def item_scores(self, items: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _params(self) -> dict[str, Any]:
        return {}

    def _arrays(self) -> dict[str, np.ndarray]:
        return {}

    def _restore(self, arrays: dict[str, np.ndarray]) -> None:
        pass

    # -- the Protocol ------------------------------------------------------------
    def recommend(self, user_indices: Any, k: int, exclude: Any = None) -> tuple[np.ndarray, np.ndarray]:
        self._check_fitted()
        users = _as_indices(user_indices)
        if users.size and (users.min() < 0 or users.max() >= self.n_users):
            raise IndexError(f"user index out of range 0..{self.n_users - 1}")
        return top_k(self.scores(users), k, exclude)

    def recommend_for_history(self, items: Any, weights: Any = None, k: int = 10,
                              ) -> tuple[np.ndarray, np.ndarray]:
        self._check_fitted()
        if not self.supports_history:
            raise NotImplementedError(f"recommender {self.name!r} has no fold-in for new users")
        its = _as_indices(items)
        if its.size and (its.min() < 0 or its.max() >= self.n_items):
            raise IndexError(f"item index out of range 0..{self.n_items - 1}")
        w = np.ones(len(its)) if weights is None else np.asarray(weights, dtype=np.float64)
        s = self.scores_for_history(its, w)[None, :]
        from scipy import sparse

        seen = sparse.csr_matrix((np.ones(len(its)), (np.zeros(len(its), np.int64), its)),
                                 shape=(1, self.n_items))
        idx, sc = top_k(s, k, seen)
        return idx[0], sc[0]

    def similar_items(self, item_indices: Any, k: int) -> tuple[np.ndarray, np.ndarray]:
        self._check_fitted()
        items = _as_indices(item_indices)
        from scipy import sparse

        own = sparse.csr_matrix((np.ones(len(items)), (np.arange(len(items)), items)),
                                shape=(len(items), self.n_items))
        return top_k(self.item_scores(items), k, own)

    def save(self) -> bytes:
        self._check_fitted()
        meta = {"name": self.name, "version": self.version, "params": self._params(),
                "n_users": self.n_users, "n_items": self.n_items}
        arrays = dict(self._arrays())
        arrays[_META] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
        buf = io.BytesIO()
        np.savez(buf, **arrays)
        return buf.getvalue()

    @classmethod
    def load(cls, data: bytes) -> BaseModel:
        with np.load(io.BytesIO(data), allow_pickle=False) as z:
            arrays = {key: z[key] for key in z.files}
        meta = json.loads(bytes(arrays.pop(_META)).decode())
        if meta["name"] != cls.name:
            raise ValueError(f"saved model is {meta['name']!r}, not {cls.name!r}")
        if meta["version"] != cls.version:
            raise ValueError(f"saved {cls.name} is version {meta['version']}, this is {cls.version}")
        model = cls(**meta["params"])
        model.n_users, model.n_items = meta["n_users"], meta["n_items"]
        model._restore(arrays)
        model._fitted = True
        return model
