"""Fitting recommenders on a project's interaction events, evaluating them on one
split and storing the chosen one as the next version (decision 028, "Training and
serving")."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import select

from vitrina.errors import VitrinaError
from vitrina.recs.artefacts import Manifest, ModelStore
from vitrina.recs.data import EVENTS, Interactions
from vitrina.storage.catalog.experiments import EventRow

#: the least a training run accepts: positive interactions, users, items
MIN_INTERACTIONS, MIN_USERS, MIN_ITEMS = 20, 3, 3
#: the models `vitrina recs train` fits when none are named (content and hybrid need
#: vectors or components)
DEFAULT_MODELS = ("popularity", "covisitation", "item-knn", "ease", "als", "bpr")
#: the models that read item content vectors (``Interactions.item_vectors``)
CONTENT_MODELS = frozenset({"content", "hybrid"})


class TooFewInteractions(VitrinaError):
    status, code = 422, "too_few_interactions"


def read_interactions(sessions: Any, project: str) -> Interactions:
    """The project's events that name an item, as interactions."""
    query = (select(EventRow.unit_id, EventRow.item_id, EventRow.event, EventRow.value,
                    EventRow.timestamp, EventRow.session_id)
             .where(EventRow.project_id == project, EventRow.item_id.is_not(None),
                    EventRow.event.in_(EVENTS))
             .order_by(EventRow.seq))
    with sessions() as s:
        rows = s.execute(query).all()
    cols = list(zip(*rows, strict=True)) if rows else [[] for _ in range(6)]
    table = dict(zip(("user_id", "item_id", "event", "value", "ts", "session_id"), cols, strict=True))
    return Interactions.from_table({k: list(v) for k, v in table.items()})


def check_enough(data: Interactions) -> None:
    positive = int((data.weights > 0).sum())
    if positive < MIN_INTERACTIONS or data.n_users < MIN_USERS or data.n_items < MIN_ITEMS:
        raise TooFewInteractions(
            f"too few interactions to train: {positive} positive events from {data.n_users} users "
            f"on {data.n_items} items; at least {MIN_INTERACTIONS} events, {MIN_USERS} users and "
            f"{MIN_ITEMS} items are needed",
            details={"interactions": positive, "users": data.n_users, "items": data.n_items})


@dataclass
class Trained:
    results: list[Any]
    best: str
    manifest: Manifest


def train(registries: Any, store: ModelStore, project: str, data: Interactions,
          names: Sequence[str], split: str = "temporal", k: int = 10, save: str | None = None,
          wrap: Callable[[Any, Any], Any] = lambda model, cut: model,
          llm: dict[str, str] | None = None) -> Trained:
    """Fit and evaluate ``names`` on one split (``leaderboard.run``; ``wrap`` as there),
    refit ``save`` (default: the best by NDCG@k) on all of ``data`` and store it as the
    next version."""
    from vitrina.recs import leaderboard
    from vitrina.recs.models.popularity import Popularity

    if save:
        leaderboard.check_names(registries, [save])
    ev = leaderboard.run(registries, data, names, split, k, wrap)
    best = save or leaderboard.ordered(ev.results, k)[0].model
    model = registries.recommenders.get(best)().fit(data)
    popularity = Popularity().fit(data).popularity
    metrics = next((r.metrics for r in ev.results if r.model == best), {})
    maps = {"user_ids": np.asarray(data.user_ids, dtype=str),
            "item_ids": np.asarray(data.item_ids, dtype=str), "popularity": popularity}
    counts = {"interactions": len(data), "users": data.n_users, "items": data.n_items,
              "train": len(ev.cut.train), "test": len(ev.cut.test)}
    # only a model that reads the items' content carries what a language model wrote
    llm = llm if best in CONTENT_MODELS else None
    return Trained(ev.results, best, store.save(project, model, maps, metrics, counts, split, llm))
