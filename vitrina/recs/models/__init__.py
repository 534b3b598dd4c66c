"""Recommender models: one Protocol, the built-in models, and loading a saved one.

A recommender is fitted on :class:`vitrina.recs.data.Interactions` and answers by
dense index (``Interactions.user_ids`` / ``item_ids`` map them back to ids):

- ``recommend(user_indices, k, exclude)`` — for a batch of users, the ``k`` best items
  over the whole catalogue as ``(items, scores)`` arrays of shape (users, k); ``exclude``
  is a CSR matrix with one row per user in ``user_indices`` (e.g. the training matrix's
  rows: already-seen items) whose nonzero items are never returned. Rows with fewer
  than ``k`` candidates are padded with item ``-1`` and score ``-inf``. Equal scores
  rank by item index (lowest first), so answers never depend on the batch.
- ``recommend_for_history(items, weights, k)`` — fold-in for a user not seen at fit
  time (items in time order, most recent last); ``supports_history`` says whether the
  model can (BPR cannot); the history's items are not returned.
- ``similar_items(item_indices, k)`` — the ``k`` nearest items of each item (never
  itself).
- ``save() -> bytes`` and the class method ``load(bytes)``.

The registry (``Registries.recommenders``) holds the model *classes* by name; a caller
makes one with its parameters: ``registries.recommenders.get("ease")(lam=300)``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    import numpy as np
    from scipy.sparse import csr_matrix

    from vitrina.recs.data import Interactions


@runtime_checkable
class Recommender(Protocol):
    name: str
    version: str
    supports_history: bool

    def fit(self, interactions: Interactions) -> Recommender: ...

    def recommend(self, user_indices: Any, k: int, exclude: csr_matrix | None = None,
                  ) -> tuple[np.ndarray, np.ndarray]: ...

    def recommend_for_history(self, items: Any, weights: Any = None, k: int = 10,
                              ) -> tuple[np.ndarray, np.ndarray]: ...

    def similar_items(self, item_indices: Any, k: int) -> tuple[np.ndarray, np.ndarray]: ...

    def save(self) -> bytes: ...

    @classmethod
    def load(cls, data: bytes) -> Recommender: ...


def builtin_recommenders() -> list[type]:
    """The model classes that ship, in registration order."""
    from vitrina.recs.models.content import ContentBased
    from vitrina.recs.models.covisitation import CoVisitation
    from vitrina.recs.models.factors import ALS, BPR
    from vitrina.recs.models.hybrid import Hybrid
    from vitrina.recs.models.neighbours import EASE, ItemKNN
    from vitrina.recs.models.popularity import Popularity

    return [Popularity, CoVisitation, ItemKNN, EASE, ALS, BPR, ContentBased, Hybrid]


def load_model(data: bytes) -> Recommender:
    """A saved model of any built-in class (the class is named in the bytes)."""
    from vitrina.recs.models.base import saved_name

    name = saved_name(data)
    for cls in builtin_recommenders():
        if cls.name == name:
            return cls.load(data)
    raise ValueError(f"saved recommender {name!r} is not a built-in model")
