"""Time-decayed popularity: each interaction's weight halves every ``half_life_days``
before the last training timestamp (None: plain counts). The same list for everyone;
the baseline every other model must beat, and what a user with no history gets."""

from __future__ import annotations

from typing import Any

import numpy as np

from vitrina.recs.models.base import BaseModel


class Popularity(BaseModel):
    name = "popularity"
    version = "1"

    def __init__(self, half_life_days: float | None = 30.0) -> None:
        self.half_life_days = half_life_days

    def _fit(self, data: Any) -> None:
        w = data.weights.astype(np.float64)
        if self.half_life_days is not None and len(data):
            age_days = (data.ts.max() - data.ts) / 86400.0
            w = w * np.exp2(-age_days / self.half_life_days)
        self.popularity = np.bincount(data.items, weights=w, minlength=data.n_items)

    def scores(self, users: np.ndarray) -> np.ndarray:
        return np.broadcast_to(self.popularity, (len(users), self.n_items))

    def scores_for_history(self, items: np.ndarray, weights: np.ndarray) -> np.ndarray:
        return self.popularity

    def item_scores(self, items: np.ndarray) -> np.ndarray:
        return np.broadcast_to(self.popularity, (len(items), self.n_items))

    def _params(self) -> dict:
        return {"half_life_days": self.half_life_days}

    def _arrays(self) -> dict:
        return {"popularity": self.popularity}

    def _restore(self, arrays: dict) -> None:
        self.popularity = arrays["popularity"]
