"""Session co-visitation: which item follows which. In each sequence (a session's
rows, or a user's rows where the session id is null, in time order, zero-weight rows
such as impressions left out), item ``b`` at ``d`` places after item ``a`` adds
``1/d`` to ``C[a, b]`` for ``d`` up to ``window``; each item keeps its ``neighbours``
strongest followers. A user's scores are ``C`` summed over their ``recent`` last items,
the most recent weighing 1 and each earlier one ``decay`` times the next."""

from __future__ import annotations

from typing import Any

import numpy as np

from vitrina.recs.models.base import BaseModel, pack_sparse, unpack_sparse
from vitrina.recs.models.neighbours import keep_top_per_row


class CoVisitation(BaseModel):
    name = "covisitation"
    version = "1"

    def __init__(self, window: int = 3, recent: int = 5, decay: float = 0.7,
                 neighbours: int = 100) -> None:
        self.window, self.recent, self.decay, self.neighbours = window, recent, decay, neighbours

    def _fit(self, data: Any) -> None:
        from scipy import sparse

        keep = data.weights != 0
        users, items, sessions = data.users[keep], data.items[keep], data.sessions[keep]
        ts = data.ts[keep]
        keys = np.array([f"s:{s}" if s is not None else f"u:{u}" for s, u in zip(sessions, users)],
                        dtype=object)
        _, group = np.unique(keys.astype(str), return_inverse=True)
        order = np.lexsort((np.arange(len(ts)), ts, group))  # by group, then time, then row
        g, it = group[order], items[order]
        rows, cols, vals = [], [], []
        for d in range(1, self.window + 1):
            same = g[d:] == g[:-d]
            a, b = it[:-d][same], it[d:][same]
            differ = a != b
            rows.append(a[differ])
            cols.append(b[differ])
            vals.append(np.full(int(differ.sum()), 1.0 / d))
        n = data.n_items
        c = sparse.csr_matrix((np.concatenate(vals) if vals else [],
                               (np.concatenate(rows) if rows else [], np.concatenate(cols) if cols else [])),
                              shape=(n, n), dtype=np.float64)
        c.sum_duplicates()
        self.covisits = keep_top_per_row(c, self.neighbours)
        # each user's last `recent` items (own sequence by time), weighted by recency
        uorder = np.lexsort((np.arange(len(ts)), ts, users))
        u_sorted, i_sorted = users[uorder], items[uorder]
        counts = np.bincount(u_sorted, minlength=data.n_users)
        ends = np.cumsum(counts)
        pos_from_end = ends[u_sorted] - 1 - np.arange(len(u_sorted))
        take = pos_from_end < self.recent
        w = self.decay ** pos_from_end[take].astype(np.float64)
        h = sparse.csr_matrix((w, (u_sorted[take], i_sorted[take])), shape=(data.n_users, n))
        h.sum_duplicates()
        self.history = h

    def scores(self, users: np.ndarray) -> np.ndarray:
        return (self.history[users] @ self.covisits).toarray()

    def scores_for_history(self, items: np.ndarray, weights: np.ndarray) -> np.ndarray:
        last = items[-self.recent:] if self.recent else items[:0]
        w = weights[-len(last):] if len(last) else weights[:0]
        rec = self.decay ** np.arange(len(last) - 1, -1, -1, dtype=np.float64)
        out = np.zeros(self.n_items)
        for item, weight in zip(last, w * rec):
            row = self.covisits[item]
            out[row.indices] += weight * row.data
        return out

    def item_scores(self, items: np.ndarray) -> np.ndarray:
        return self.covisits[items].toarray()

    def _params(self) -> dict:
        return {"window": self.window, "recent": self.recent, "decay": self.decay,
                "neighbours": self.neighbours}

    def _arrays(self) -> dict:
        return {**pack_sparse("covisits", self.covisits), **pack_sparse("history", self.history)}

    def _restore(self, arrays: dict) -> None:
        self.covisits = unpack_sparse("covisits", arrays)
        self.history = unpack_sparse("history", arrays)
