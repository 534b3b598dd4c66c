"""An evaluation run of several recommenders on one split of a project's events: run,
kept as JSON in the blob store, drawn as a PNG (decision 028, "Evaluation").

A run is stored at ``recs/{project}/evaluations/{UTC timestamp}.json``::

    {"project", "evaluated_at", "split", "split_name", "k", "llm",
     "counts": {"interactions", "users", "items", "train", "test", "warm_users", "cold_users"},
     "models": [{"model", "version", "metrics", "fit_seconds", "recommend_seconds"}, ...]}

best NDCG@k first. Non-finite metrics (no warm user, say) are stored as null. Nothing
is fitted on all events, saved as a model or promoted here: that is ``train``'s job.

matplotlib is used through its object API only (no pyplot global state), as the
experiments' plots are.
"""

from __future__ import annotations

import io
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np

from vitrina.errors import InvalidInput
from vitrina.recs import evaluation
from vitrina.recs.artefacts import ModelStore
from vitrina.recs.data import Interactions
from vitrina.recs.training import TooFewInteractions, check_enough

SPLITS = ("temporal", "leave-last-out")
WIDTH_INCHES, ROW_INCHES, DPI = 10.0, 0.38, 100


class ModelFailed(InvalidInput):
    code = "model_failed"


@dataclass
class Evaluation:
    split: str
    cut: evaluation.Split
    k: int
    data: Interactions
    results: list[evaluation.Result]
    versions: dict[str, str]


def make_split(data: Interactions, split: str) -> evaluation.Split:
    if split not in SPLITS:
        raise InvalidInput(f"no split {split!r}; one of: {', '.join(SPLITS)}",
                           details={"split": split})
    cut = evaluation.temporal_split(data) if split == "temporal" else evaluation.leave_last_out(data)
    if not cut.relevant():
        raise TooFewInteractions(f"the {split} split leaves no test user with a new positive item; "
                                 "log more interactions")
    return cut


def check_names(registries: Any, names: Sequence[str]) -> None:
    if not names:
        raise InvalidInput("no model to evaluate: name at least one")
    unknown = [n for n in names if registries.recommenders.find(n) is None]
    if unknown:
        raise InvalidInput(f"no recommender {', '.join(map(repr, unknown))}; registered: "
                           f"{', '.join(c.name for c in registries.recommenders)}",
                           details={"unknown": unknown})


def run(registries: Any, data: Interactions, names: Sequence[str], split: str = "temporal",
        k: int = 10, wrap: Callable[[Any, evaluation.Split], Any] = lambda m, cut: m) -> Evaluation:
    """Fit every model (default parameters) on the training part of one split and
    measure it on the test part. ``wrap(model, split)`` may stand in for a model (a
    progress bar around its calls)."""
    check_enough(data)
    check_names(registries, names)
    cut = make_split(data, split)
    results, versions = [], {}
    for name in dict.fromkeys(names):  # a name given twice runs once
        cls = registries.recommenders.get(name)
        try:
            model = cls()
            results.append(evaluation.evaluate(wrap(model, cut), cut, k=k, label=name))
        except (TypeError, ValueError) as exc:
            # e.g. content without item vectors, hybrid without components
            raise ModelFailed(f"{name} cannot be evaluated on these events: {exc}",
                              details={"model": name}) from None
        versions[name] = str(cls.version)
    return Evaluation(split, cut, k, data, results, versions)


def _finite(value: float) -> float | None:
    return float(value) if value is not None and math.isfinite(value) else None


def ordered(results: Sequence[evaluation.Result], k: int) -> list[evaluation.Result]:
    """Best NDCG@k first, as evaluation.leaderboard orders them."""
    return sorted(results, key=lambda r: -np.nan_to_num(r.metrics.get(f"ndcg@{k}", 0.0), nan=-1))


def record(project: str, ev: Evaluation, at: datetime | None = None,
           llm: dict[str, str] | None = None) -> dict[str, Any]:
    """The JSON document of a run; ``llm`` names the text generator behind any
    keywords in the content vectors the run used."""
    at = (at or datetime.now(UTC)).astimezone(UTC)
    warm, cold = ev.cut.warm_and_cold()
    return {
        "project": project,
        "evaluated_at": at.isoformat(timespec="microseconds").replace("+00:00", "Z"),
        "split": ev.split,
        "split_name": ev.cut.name,
        "k": ev.k,
        "llm": llm,
        "counts": {"interactions": len(ev.data), "users": ev.data.n_users, "items": ev.data.n_items,
                   "train": len(ev.cut.train), "test": len(ev.cut.test),
                   "warm_users": len(warm), "cold_users": len(cold)},
        "models": [{"model": r.model, "version": ev.versions.get(r.model),
                    "metrics": {m: _finite(v) for m, v in r.metrics.items()},
                    "fit_seconds": r.fit_seconds, "recommend_seconds": r.recommend_seconds}
                   for r in ordered(ev.results, ev.k)],
    }


def key_of(project: str, at: str) -> str:
    # 2026-12-01T21:21:16.123456Z -> 20261201T212116.123456Z: no ':' in a blob key
    stamp = at.replace("-", "").replace(":", "")
    return f"{ModelStore.prefix(project)}evaluations/{stamp}.json"


def save(store: ModelStore, doc: dict[str, Any]) -> str:
    """Keep a run's document; its blob key."""
    key = key_of(doc["project"], doc["evaluated_at"])
    store.blobs.put_bytes(key, json.dumps(doc, indent=1).encode())
    return key


def history(store: ModelStore, project: str) -> list[str]:
    """Keys of the project's kept runs, oldest first."""
    prefix = f"{ModelStore.prefix(project)}evaluations/"
    return sorted(k for k in store.blobs.keys(prefix) if k.endswith(".json"))


def load(store: ModelStore, key: str) -> dict[str, Any]:
    return json.loads(store.blobs.read_bytes(key))


def render_png(doc: dict[str, Any]) -> bytes:
    """Horizontal bars of NDCG@k and recall@k per model, best NDCG@k on top, each
    model's catalogue coverage written beside its NDCG bar."""
    from matplotlib.figure import Figure

    k, models = doc["k"], doc["models"]
    if not models:
        raise InvalidInput("nothing to plot: the run has no model")
    names = [m["model"] for m in models][::-1]  # barh draws bottom-up: best last
    panels = [(f"ndcg@{k}", "#4c72b0"), (f"recall@{k}", "#dd8452")]
    fig = Figure(figsize=(WIDTH_INCHES, 1.4 + ROW_INCHES * len(models)), dpi=DPI,
                 layout="constrained")
    axes = fig.subplots(1, len(panels), sharey=True)
    for ax, (metric, colour) in zip(axes, panels, strict=True):
        values = [m["metrics"].get(metric) for m in models][::-1]
        heights = [v or 0.0 for v in values]
        ax.barh(names, heights, color=colour, height=0.65)
        top = max(heights, default=0.0) or 1.0
        ax.set_xlim(0, top * (1.75 if metric.startswith("ndcg") else 1.2))  # room for labels
        for y, (v, m) in enumerate(zip(values, models[::-1], strict=True)):
            text = "n/a" if v is None else f"{v:.3f}"
            if metric.startswith("ndcg"):
                cov = m["metrics"].get("coverage")
                text += "" if cov is None else f"  coverage {100 * cov:.1f}%"
            ax.text((v or 0.0) + top * 0.02, y, text, va="center", fontsize=8)
        ax.set_title(metric, fontsize=10, loc="left")
        ax.grid(True, axis="x", alpha=0.3)
        ax.set_axisbelow(True)
    c = doc["counts"]
    fig.suptitle(f"{doc['project']} · {doc['split']} split: {c['train']:,} training and "
                 f"{c['test']:,} test events, {c['warm_users']:,} warm test users · "
                 f"{doc['evaluated_at'][:19]}Z", fontsize=11)
    out = io.BytesIO()
    fig.savefig(out, format="png")
    return out.getvalue()
