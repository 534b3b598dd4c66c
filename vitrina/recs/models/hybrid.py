"""A weighted blend of other models: each model's scores are min-max normalised per
user over the catalogue (so a model's scale does not decide), then summed with their
weights. Fitting the hybrid fits its models."""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

import numpy as np

from vitrina.recs.models.base import BaseModel


def _minmax(s: np.ndarray) -> np.ndarray:
    s = np.asarray(s, dtype=np.float64)
    lo = s.min(axis=-1, keepdims=True)
    span = s.max(axis=-1, keepdims=True) - lo
    return (s - lo) / np.where(span == 0, 1.0, span)


class Hybrid(BaseModel):
    name = "hybrid"
    version = "1"

    def __init__(self, components: Sequence[tuple[Any, float]] = ()) -> None:
        if not components:
            raise ValueError("hybrid: give (model, weight) pairs")
        self.components = [(m, float(w)) for m, w in components]

    @property
    def supports_history(self) -> bool:  # type: ignore[override]
        return all(m.supports_history for m, _ in self.components)

    def fit(self, interactions: Any, **kwargs: Any) -> Hybrid:
        for model, _ in self.components:
            if kwargs and model.name == "content":
                model.fit(interactions, **kwargs)
            else:
                model.fit(interactions)
        return super().fit(interactions)

    def _fit(self, data: Any) -> None:
        pass

    def _blend(self, parts: list[np.ndarray]) -> np.ndarray:
        return sum(w * _minmax(p) for p, (_, w) in zip(parts, self.components))

    def scores(self, users: np.ndarray) -> np.ndarray:
        return self._blend([m.scores(users) for m, _ in self.components])

    def scores_for_history(self, items: np.ndarray, weights: np.ndarray) -> np.ndarray:
        return self._blend([m.scores_for_history(items, weights) for m, _ in self.components])

    def item_scores(self, items: np.ndarray) -> np.ndarray:
        return self._blend([m.item_scores(items) for m, _ in self.components])

    def save(self) -> bytes:
        self._check_fitted()
        self._saved = [np.frombuffer(m.save(), dtype=np.uint8) for m, _ in self.components]
        try:
            return super().save()
        finally:
            del self._saved

    def _arrays(self) -> dict:
        out = {f"component.{i}": blob for i, blob in enumerate(self._saved)}
        out["weights"] = np.array([w for _, w in self.components])
        return out

    @classmethod
    def load(cls, data: bytes) -> Hybrid:
        from vitrina.recs.models import load_model
        from vitrina.recs.models.base import _META

        with np.load(io.BytesIO(data), allow_pickle=False) as z:
            meta = bytes(z[_META]).decode()
            weights = z["weights"]
            blobs = [z[f"component.{i}"].tobytes() for i in range(len(weights))]
        import json

        meta = json.loads(meta)
        if meta["name"] != cls.name or meta["version"] != cls.version:
            raise ValueError(f"saved model is {meta['name']} {meta['version']}, not {cls.name} {cls.version}")
        model = cls([(load_model(b), float(w)) for b, w in zip(blobs, weights)])
        model.n_users, model.n_items = meta["n_users"], meta["n_items"]
        model._fitted = True
        return model
