"""Per-variant reports of a placement's logged outcomes, and off-policy estimates of a
candidate policy on the logged decisions before it is switched on (decision 036).

CTR is clicks / impressions and conversion is conversions / impressions, each with
its own Wilson score interval per variant: variants are never pooled, so a strong
variant never lends its counts to a weak one (the interval is
:func:`vitrina.experiments.stats.proportions.wilson`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from vitrina.creative.selection import Grid, Outcomes, Selector
from vitrina.experiments.errors import InvalidLogs
from vitrina.experiments.ope import LoggedFeedback, PolicyValue, TabularRewardModel, evaluate
from vitrina.experiments.stats.proportions import wilson


@dataclass(frozen=True)
class VariantReport:
    variant: str
    impressions: int
    clicks: int
    conversions: int
    ctr: float | None
    ctr_interval: tuple[float, float] | None
    conversion: float | None
    conversion_interval: tuple[float, float] | None

    def to_dict(self) -> dict[str, Any]:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in self.__dict__.items()}


def report(outcomes: Outcomes, variants: Sequence[str], *,
           alpha: float = 0.05) -> list[VariantReport]:
    """One report per variant in ``variants`` order (variants without rows: zeros and
    no rates); a row naming any other variant is refused."""
    index = {v: i for i, v in enumerate(variants)}
    unknown = sorted(set(outcomes.variant) - set(index))
    if unknown:
        raise InvalidLogs(f"unknown variant(s) {unknown}", details={"variants": unknown})
    idx = np.array([index[v] for v in outcomes.variant], dtype=np.int64)
    totals = {name: np.bincount(idx, getattr(outcomes, name), len(variants)).astype(np.int64)
              for name in ("impressions", "clicks", "conversions")}
    out = []
    for i, v in enumerate(variants):
        n, c, k = (int(totals[name][i]) for name in ("impressions", "clicks", "conversions"))
        out.append(VariantReport(v, n, c, k, c / n if n else None, wilson(c, n, alpha),
                                 k / n if n else None, wilson(k, n, alpha)))
    return out


@dataclass(frozen=True)
class DecisionLog:
    """Logged decisions, one per impression: the variant served, the probability the
    serving policy gave it, the reward (click or conversion, 0/1) and the context."""

    variant: tuple[str, ...]
    propensity: np.ndarray
    reward: np.ndarray
    context: tuple[Mapping[str, Any], ...] | None = None

    def __post_init__(self) -> None:
        n = len(self.variant)
        for name in ("propensity", "reward"):
            values = np.asarray(getattr(self, name), dtype=float)
            if values.shape != (n,):
                raise InvalidLogs(f"{name} must have one value per logged decision")
            object.__setattr__(self, name, values)
        if self.context is not None and len(self.context) != n:
            raise InvalidLogs("context must have one entry per logged decision")


def off_policy(logs: DecisionLog, candidate: Selector | np.ndarray, *, grid: Grid | None = None,
               estimators: tuple[str, ...] = ("ips", "snips", "dr"),
               alpha: float = 0.05) -> dict[str, PolicyValue]:
    """The candidate's expected reward per impression, estimated on ``logs``.

    ``candidate`` is a Selector (its probabilities for each logged context) or its
    probabilities over ``grid.ids``: one row, or one row per logged decision. DR's
    reward model is the mean logged reward per variant, so its interval is that of
    the per-impression contributions (decision 032 on how to read DM's)."""
    if isinstance(candidate, Selector):
        grid = candidate.grid
        probs = _selector_probabilities(candidate, logs)
    elif grid is None:
        raise InvalidLogs("a candidate given as probabilities needs the grid they are over")
    else:
        probs = np.asarray(candidate, dtype=float)
    if probs.shape not in ((len(grid.ids),), (len(logs.variant), len(grid.ids))):
        raise InvalidLogs("candidate probabilities need one column per variant")
    if np.any(probs < 0) or not np.allclose(probs.sum(axis=-1), 1.0):
        raise InvalidLogs("candidate probabilities must be non-negative and sum to 1")
    if np.any((logs.reward < 0) | (logs.reward > 1)):
        raise InvalidLogs("rewards are 0 or 1 per impression")
    action = np.array([grid.index(v) for v in logs.variant], dtype=np.int64)
    fb = LoggedFeedback(action, logs.reward, logs.propensity, len(grid.ids))
    q_hat = TabularRewardModel().fit_predict(fb)
    return evaluate(fb, probs[..., None], q_hat, estimators=estimators, alpha=alpha)


def _selector_probabilities(selector: Selector, logs: DecisionLog) -> np.ndarray:
    if selector.context is None:
        return selector.probabilities()
    if logs.context is None:
        raise InvalidLogs("a contextual candidate is evaluated on logs with their context")
    return per_context(selector, logs.context)


def per_context(selector: Selector, contexts: Sequence[Mapping[str, Any]]) -> np.ndarray:
    """The selector's probabilities for each context, one row each; contexts repeat, so
    each distinct one is scored once."""
    seen: dict[tuple, np.ndarray] = {}
    rows = []
    for c in contexts:
        key = tuple(sorted((str(k), str(v)) for k, v in c.items()))
        if key not in seen:
            seen[key] = selector.probabilities(c)
        rows.append(seen[key])
    return np.array(rows)
