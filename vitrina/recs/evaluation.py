"""Offline evaluation of recommenders: splits, ranking metrics, a leaderboard.

Conventions (decision 028):

- **Full ranking.** Every model ranks the whole catalogue for every test user; no
  sampled negatives. Items the user interacted with in training are excluded (passed
  as ``exclude``), and test items the user already had in training are not counted as
  relevant (they could never be recommended).
- **Warm and cold users.** A test user with no training interaction is *cold*: the
  warm metrics leave them out, and they are scored separately (``cold_*``) with what
  the model gives a user without history.
- **Binary relevance.** A test item is relevant once, whatever its weight or count.
- **Ties** are broken by the model's ranking (equal scores by lowest item index), so a
  metric never depends on the batch size.
- Per-user metrics are averaged over users with at least one relevant item:
  ``recall@k = hits / |relevant|``; ``NDCG@k = DCG / IDCG`` with gains
  ``1/log2(rank + 1)`` (rank from 1) and the ideal list holding ``min(|relevant|, k)``
  hits; ``MAP@k``: the mean of precision@rank over the hit ranks, divided by
  ``min(|relevant|, k)``.
- Beyond accuracy, over all warm users' lists: *coverage* is the share of the catalogue
  recommended to anyone; *popularity* the mean popularity percentile of recommended
  items (an item's training user count ranked among all items, ties averaged, divided
  by the number of items: 1.0 is the most popular); *novelty* the mean self-information
  ``-log2(users_i / users)`` of recommended items (an item with no training user counts
  as one).
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from vitrina.recs.data import Interactions

# -- splits --------------------------------------------------------------------------


@dataclass(frozen=True)
class Split:
    """Training and test rows over the same index maps."""

    name: str
    train: Interactions
    test: Interactions

    def relevant(self) -> dict[int, np.ndarray]:
        """Each test user's relevant items: positive test items not seen in training
        (sorted indices), for users with at least one."""
        seen = self.train.user_items
        test = self.test.user_items
        out: dict[int, np.ndarray] = {}
        for u in np.flatnonzero(np.diff(test.indptr)):
            items = test.indices[test.indptr[u]:test.indptr[u + 1]]
            old = seen.indices[seen.indptr[u]:seen.indptr[u + 1]]
            fresh = np.setdiff1d(items, old)
            if fresh.size:
                out[int(u)] = fresh
        return out

    def warm_and_cold(self) -> tuple[np.ndarray, np.ndarray]:
        """Test users with relevant items, split by whether they have training rows."""
        users = np.array(sorted(self.relevant()), dtype=np.int64)
        has_train = np.diff(self.train.user_items.indptr) > 0
        return users[has_train[users]], users[~has_train[users]]


def temporal_split(data: Interactions, cut: float | None = None, *, quantile: float = 0.8) -> Split:
    """Train on rows before ``cut`` (epoch seconds; default: the ``quantile`` of the
    timestamps), test on the rows at or after it: the future, as in production."""
    if cut is None:
        cut = float(np.quantile(data.ts, quantile))
    before = data.ts < cut
    return Split(f"temporal@{cut:.0f}", data.subset(before), data.subset(~before))


def leave_last_out(data: Interactions) -> Split:
    """Each user's last positive row (by time; equal times: the later row) is the test,
    for users with at least two positive rows; everything else trains."""
    rows = np.flatnonzero(data.weights != 0)
    users = data.users[rows]
    order = np.lexsort((rows, data.ts[rows], users))
    rows, users = rows[order], users[order]
    last = np.ones(len(rows), dtype=bool)
    last[:-1] = users[:-1] != users[1:]
    counts = np.bincount(users, minlength=data.n_users)
    test_rows = rows[last & (counts[users] >= 2)]
    mask = np.zeros(len(data), dtype=bool)
    mask[test_rows] = True
    return Split("leave-last-out", data.subset(~mask), data.subset(mask))


# -- metrics (one user) --------------------------------------------------------------


def _hits(ranked: Sequence[int], relevant: Iterable[int], k: int) -> np.ndarray:
    rel = {int(x) for x in relevant}
    return np.array([int(x) in rel for x in list(ranked)[:k]], dtype=bool)


def recall_at_k(ranked: Sequence[int], relevant: Sequence[int], k: int) -> float:
    n_rel = len(set(relevant))
    return float(_hits(ranked, relevant, k).sum()) / n_rel if n_rel else 0.0


def ndcg_at_k(ranked: Sequence[int], relevant: Sequence[int], k: int) -> float:
    n_rel = len(set(relevant))
    if not n_rel:
        return 0.0
    hits = _hits(ranked, relevant, k)
    dcg = sum(1.0 / math.log2(r + 2) for r in np.flatnonzero(hits))
    idcg = sum(1.0 / math.log2(r + 2) for r in range(min(n_rel, k)))
    return dcg / idcg


def average_precision_at_k(ranked: Sequence[int], relevant: Sequence[int], k: int) -> float:
    n_rel = len(set(relevant))
    if not n_rel:
        return 0.0
    hits = _hits(ranked, relevant, k)
    ranks = np.flatnonzero(hits)
    precisions = [(j + 1) / (r + 1) for j, r in enumerate(ranks)]
    return float(sum(precisions)) / min(n_rel, k)


# -- metrics (lists of users) --------------------------------------------------------


def item_popularity(train: Interactions) -> np.ndarray:
    """Training users per item."""
    m = train.user_items
    return np.bincount(m.indices, minlength=train.n_items)


def popularity_percentiles(counts: np.ndarray) -> np.ndarray:
    from scipy.stats import rankdata

    return rankdata(counts, method="average") / len(counts)


def self_information(counts: np.ndarray, n_users: int) -> np.ndarray:
    return -np.log2(np.maximum(counts, 1) / max(n_users, 1))


def beyond_accuracy(lists: np.ndarray, counts: np.ndarray, n_users: int) -> dict[str, float]:
    """Coverage, popularity percentile and novelty of recommended lists (users x k,
    -1 for empty places), against training user counts per item."""
    recommended = lists[lists >= 0]
    if recommended.size == 0:
        return {"coverage": 0.0, "popularity": float("nan"), "novelty": float("nan")}
    return {
        "coverage": len(np.unique(recommended)) / len(counts),
        "popularity": float(popularity_percentiles(counts)[recommended].mean()),
        "novelty": float(self_information(counts, n_users)[recommended].mean()),
    }


def ranking_metrics(lists: np.ndarray, relevant: Sequence[np.ndarray], k: int) -> dict[str, float]:
    """Mean recall, NDCG and MAP at ``k`` over users (rows of ``lists``)."""
    if not len(relevant):
        return {f"recall@{k}": float("nan"), f"ndcg@{k}": float("nan"), f"map@{k}": float("nan")}
    rec = [recall_at_k(row, rel, k) for row, rel in zip(lists, relevant)]
    nd = [ndcg_at_k(row, rel, k) for row, rel in zip(lists, relevant)]
    ap = [average_precision_at_k(row, rel, k) for row, rel in zip(lists, relevant)]
    return {f"recall@{k}": float(np.mean(rec)), f"ndcg@{k}": float(np.mean(nd)),
            f"map@{k}": float(np.mean(ap))}


# -- running models ------------------------------------------------------------------


def recommend_all(model: Any, users: np.ndarray, k: int, exclude: Any, batch_size: int = 256) -> np.ndarray:
    """Top-``k`` lists for ``users`` in batches (``exclude``: all users' rows)."""
    out = np.full((len(users), k), -1, dtype=np.int64)
    for start in range(0, len(users), batch_size):
        batch = users[start:start + batch_size]
        idx, _ = model.recommend(batch, k, exclude[batch])
        out[start:start + len(batch), :idx.shape[1]] = idx
    return out


@dataclass
class Result:
    model: str
    metrics: dict[str, float]
    fit_seconds: float
    recommend_seconds: float
    users: int
    cold_users: int
    extra: dict[str, Any] = field(default_factory=dict)


def evaluate(model: Any, split: Split, *, k: int = 10, batch_size: int = 256, fit: bool = True,
             label: str | None = None) -> Result:
    """Fit ``model`` on the training rows (unless ``fit`` is False) and measure it on
    the test rows: warm users' ranking metrics and beyond-accuracy figures, cold users'
    ranking metrics as ``cold_*``."""
    t0 = time.perf_counter()
    if fit:
        model.fit(split.train)
    fit_seconds = time.perf_counter() - t0
    relevant = split.relevant()
    warm, cold = split.warm_and_cold()
    exclude = split.train.user_items
    t0 = time.perf_counter()
    lists = recommend_all(model, warm, k, exclude, batch_size)
    recommend_seconds = time.perf_counter() - t0
    metrics = ranking_metrics(lists, [relevant[int(u)] for u in warm], k)
    counts = item_popularity(split.train)
    metrics.update(beyond_accuracy(lists, counts, split.train.n_users))
    if len(cold):
        cold_lists = recommend_all(model, cold, k, exclude, batch_size)
        for key, value in ranking_metrics(cold_lists, [relevant[int(u)] for u in cold], k).items():
            metrics[f"cold_{key}"] = value
    return Result(label or model.name, metrics, fit_seconds, recommend_seconds, len(warm), len(cold))


def evaluate_all(models: Sequence[Any], split: Split, *, k: int = 10, batch_size: int = 256) -> list[Result]:
    """Every model on the same split, in the given order."""
    return [evaluate(m, split, k=k, batch_size=batch_size) for m in models]


def leaderboard(results: Sequence[Result], k: int = 10,
                columns: Sequence[str] | None = None) -> str:
    """A plain-text table, best NDCG@k first."""
    cols = list(columns or [f"ndcg@{k}", f"recall@{k}", f"map@{k}", "coverage", "popularity",
                            "novelty"])
    ordered = sorted(results, key=lambda r: -np.nan_to_num(r.metrics.get(f"ndcg@{k}", 0.0), nan=-1))
    width = max([len("model")] + [len(r.model) for r in results])
    head = f"{'model':<{width}}  " + "  ".join(f"{c:>10}" for c in cols) + f"  {'fit s':>7}  {'rec s':>7}"
    lines = [head, "-" * len(head)]
    for r in ordered:
        vals = "  ".join(f"{r.metrics.get(c, float('nan')):>10.4f}" for c in cols)
        lines.append(f"{r.model:<{width}}  {vals}  {r.fit_seconds:>7.2f}  {r.recommend_seconds:>7.3f}")
    return "\n".join(lines)
