"""Content-based: items' content vectors (e.g. text embeddings), an item x dim matrix
supplied with the data (``Interactions.with_item_vectors``) or to ``fit``. A user's
profile is the weighted mean of their items' unit vectors; scores are cosines. Items
nobody interacted with yet score like any other: the model for cold-start items."""

from __future__ import annotations

from typing import Any

import numpy as np

from vitrina.recs.models.base import BaseModel, pack_sparse, unpack_sparse


def _unit(v: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(v, axis=-1, keepdims=True)
    return v / np.where(norms == 0, 1.0, norms)


class ContentBased(BaseModel):
    name = "content"
    version = "1"

    def __init__(self) -> None:
        pass

    def fit(self, interactions: Any, item_vectors: np.ndarray | None = None) -> ContentBased:
        vectors = item_vectors if item_vectors is not None else interactions.item_vectors
        if vectors is None:
            raise ValueError("content: no item vectors (Interactions.with_item_vectors or fit(..., item_vectors=))")
        vectors = np.asarray(vectors, dtype=np.float64)
        if vectors.ndim != 2 or vectors.shape[0] != interactions.n_items:
            raise ValueError(f"content: item vectors of shape {vectors.shape}, "
                             f"expected ({interactions.n_items}, dim)")
        self.vectors = _unit(vectors)
        return super().fit(interactions)

    def _fit(self, data: Any) -> None:
        self.user_items = data.user_items.astype(np.float64).tocsr()

    def scores(self, users: np.ndarray) -> np.ndarray:
        profiles = _unit(np.asarray(self.user_items[users] @ self.vectors))
        return profiles @ self.vectors.T

    def scores_for_history(self, items: np.ndarray, weights: np.ndarray) -> np.ndarray:
        return self.vectors @ _unit(weights @ self.vectors[items])

    def item_scores(self, items: np.ndarray) -> np.ndarray:
        return self.vectors[items] @ self.vectors.T

    def _arrays(self) -> dict:
        return {"vectors": self.vectors, **pack_sparse("user_items", self.user_items)}

    def _restore(self, arrays: dict) -> None:
        self.vectors = arrays["vectors"]
        self.user_items = unpack_sparse("user_items", arrays)
