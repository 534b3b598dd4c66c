"""Item-item models over the user x item matrix: item-kNN (cosine, top-N neighbours
per item) and EASE (a closed-form linear item-item model, Steck 2019)."""

from __future__ import annotations

from typing import Any

import numpy as np

from vitrina.recs.models.base import BaseModel, pack_sparse, unpack_sparse


def keep_top_per_row(m: Any, n: int, chunk: int = 512) -> Any:
    """``m`` (square CSR) with only each row's ``n`` largest entries (ties: lowest column)."""
    from scipy import sparse

    m = m.tocsr()
    rows, cols, vals = [], [], []
    for start in range(0, m.shape[0], chunk):
        block = m[start:start + chunk].toarray()
        k = min(n, block.shape[1])
        idx = np.argsort(-block, axis=1, kind="stable")[:, :k]
        v = np.take_along_axis(block, idx, axis=1)
        nz = v > 0
        r = np.repeat(np.arange(start, start + block.shape[0]), k).reshape(-1, k)
        rows.append(r[nz])
        cols.append(idx[nz])
        vals.append(v[nz])
    out = sparse.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                            shape=m.shape, dtype=np.float64)
    out.sort_indices()
    return out


class ItemKNN(BaseModel):
    """Cosine similarity between item columns of the weight matrix (``shrink`` added to
    the norms' product damps pairs seen by few users); each item keeps ``neighbours``.
    A user's score for ``i``: sum over their items ``j`` of weight x sim(j, i)."""

    name = "item-knn"
    version = "1"

    def __init__(self, neighbours: int = 50, shrink: float = 0.0) -> None:
        self.neighbours, self.shrink = neighbours, shrink

    def _fit(self, data: Any) -> None:
        from scipy import sparse

        x = data.user_items.astype(np.float64)
        self.user_items = x.tocsr()
        gram = (x.T @ x).tocsr()
        norms = np.sqrt(np.asarray(x.multiply(x).sum(axis=0)).ravel())
        coo = gram.tocoo()
        vals = coo.data / (norms[coo.row] * norms[coo.col] + self.shrink + 1e-12)
        vals[coo.row == coo.col] = 0.0
        sim = sparse.csr_matrix((vals, (coo.row, coo.col)), shape=gram.shape)
        sim.eliminate_zeros()
        self.similarity = keep_top_per_row(sim, self.neighbours)

    def scores(self, users: np.ndarray) -> np.ndarray:
        return (self.user_items[users] @ self.similarity).toarray()

    def scores_for_history(self, items: np.ndarray, weights: np.ndarray) -> np.ndarray:
        out = np.zeros(self.n_items)
        for item, w in zip(items, weights):
            row = self.similarity[item]
            out[row.indices] += w * row.data
        return out

    def item_scores(self, items: np.ndarray) -> np.ndarray:
        return self.similarity[items].toarray()

    def _params(self) -> dict:
        return {"neighbours": self.neighbours, "shrink": self.shrink}

    def _arrays(self) -> dict:
        return {**pack_sparse("similarity", self.similarity), **pack_sparse("user_items", self.user_items)}

    def _restore(self, arrays: dict) -> None:
        self.similarity = unpack_sparse("similarity", arrays)
        self.user_items = unpack_sparse("user_items", arrays)


class EASE(BaseModel):
    """``B = I - P diagMat(1 / diag(P))`` with ``P = (X^T X + lam I)^-1``, zero diagonal:
    every item predicted from all the others. A dense items x items inverse: fine for a
    few thousand items (``max_items`` refuses more rather than exhaust memory)."""

    name = "ease"
    version = "1"

    def __init__(self, lam: float = 250.0, max_items: int = 20000) -> None:
        self.lam, self.max_items = lam, max_items

    def _fit(self, data: Any) -> None:
        if data.n_items > self.max_items:
            raise ValueError(f"ease: {data.n_items} items is more than max_items={self.max_items}")
        x = data.user_items.astype(np.float64).tocsr()
        self.user_items = x
        g = (x.T @ x).toarray()
        g[np.diag_indices_from(g)] += self.lam
        p = np.linalg.inv(g)
        b = -p / np.diag(p)[None, :]
        b[np.diag_indices_from(b)] = 0.0
        self.weights = b

    def scores(self, users: np.ndarray) -> np.ndarray:
        return np.asarray(self.user_items[users] @ self.weights)

    def scores_for_history(self, items: np.ndarray, weights: np.ndarray) -> np.ndarray:
        return weights @ self.weights[items]

    def item_scores(self, items: np.ndarray) -> np.ndarray:
        return self.weights[items]

    def _params(self) -> dict:
        return {"lam": self.lam, "max_items": self.max_items}

    def _arrays(self) -> dict:
        return {"weights": self.weights, **pack_sparse("user_items", self.user_items)}

    def _restore(self, arrays: dict) -> None:
        self.weights = arrays["weights"]
        self.user_items = unpack_sparse("user_items", arrays)
