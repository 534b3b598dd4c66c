"""What happens to a model's ranked candidates before they are served (decision 031):
a freshness boost, diversity by maximal marginal relevance, and exploration with the
propensity of every placed item logged.

Each step takes and returns candidates as parallel arrays, best first; the model's
own order is left untouched when a step's setting is off.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

#: the most a variant may explore: past this the list is mostly noise
MAX_EXPLORE = 0.5


@dataclass(frozen=True)
class Options:
    """How a list is shaped: ``diversity`` in [0, 1] is MMR's weight on novelty against
    the selected items (0: pure relevance); ``freshness_days`` a half-life for the
    boost of recently published items (None: none); ``explore`` the probability that a
    place is filled by a uniformly drawn candidate instead of the best remaining one."""

    diversity: float = 0.0
    freshness_days: float | None = None
    explore: float = 0.0

    def __post_init__(self) -> None:
        if not (isinstance(self.diversity, (int, float)) and 0.0 <= self.diversity <= 1.0):
            raise ValueError(f"diversity must be a number from 0 to 1, got {self.diversity!r}")
        if self.freshness_days is not None and not (
                isinstance(self.freshness_days, (int, float)) and self.freshness_days > 0
                and math.isfinite(self.freshness_days)):
            raise ValueError(f"freshness_days must be a positive number of days, got {self.freshness_days!r}")
        if not (isinstance(self.explore, (int, float)) and 0.0 <= self.explore <= MAX_EXPLORE):
            raise ValueError(f"explore must be a probability from 0 to {MAX_EXPLORE}, got {self.explore!r}")

    @property
    def reshapes(self) -> bool:
        return self.diversity > 0 or self.freshness_days is not None or self.explore > 0

    def pool(self, k: int) -> int:
        """How many of the model's best candidates the steps choose from."""
        return max(4 * k, 50) if self.reshapes else k


def normalised(scores: np.ndarray) -> np.ndarray:
    """Min-max to [0, 1] over the finite scores (all equal: all 1)."""
    s = np.asarray(scores, dtype=np.float64)
    finite = np.isfinite(s)
    if not finite.any():
        return np.zeros_like(s)
    lo, hi = s[finite].min(), s[finite].max()
    out = np.ones_like(s) if hi == lo else (s - lo) / (hi - lo)
    out[~finite] = 0.0
    return out


def freshen(scores: np.ndarray, age_days: np.ndarray, half_life_days: float) -> np.ndarray:
    """Relevance times ``2 ** (-age / half_life)``: an item loses half its pull every
    half-life since it was published. Undated items (age NaN) are not decayed; items
    published in the future count as new."""
    decay = np.exp2(-np.clip(np.nan_to_num(age_days, nan=0.0), 0, None) / half_life_days)
    return normalised(scores) * decay


def mmr(scores: np.ndarray, similarity: np.ndarray, k: int, diversity: float) -> np.ndarray:
    """Positions (into ``scores``) of ``k`` candidates chosen greedily by maximal marginal
    relevance (Carbonell & Goldstein 1998): ``(1 - diversity) * relevance - diversity *
    max similarity to those already chosen``, relevance and similarity each scaled to
    [0, 1] over the pool so neither's units decide."""
    n = len(scores)
    k = min(k, n)
    rel = normalised(scores)
    sim = np.asarray(similarity, dtype=np.float64).copy()
    np.fill_diagonal(sim, np.nan)
    sim = normalised(np.nan_to_num(sim, nan=np.nanmin(sim) if n > 1 else 0.0))
    chosen: list[int] = []
    closest = np.zeros(n)  # each candidate's largest similarity to the chosen ones
    free = np.ones(n, dtype=bool)
    for _ in range(k):
        value = np.where(free, (1 - diversity) * rel - diversity * closest, -np.inf)
        pick = int(np.argmax(value))  # ties: the better-ranked candidate
        chosen.append(pick)
        free[pick] = False
        closest = np.maximum(closest, sim[pick])
    return np.asarray(chosen, dtype=np.int64)


def explore(k: int, n: int, epsilon: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Epsilon-greedy over a ranked pool of ``n``: each of ``k`` places takes the best
    remaining candidate, or with probability ``epsilon`` one drawn uniformly from the
    remaining ones (which may be the best). Returns the chosen positions and, for each,
    its propensity given the places before it: ``(1 - epsilon) * [best] + epsilon /
    remaining`` — what an off-policy estimate needs."""
    remaining = list(range(n))
    chosen, propensity = [], []
    for _ in range(min(k, n)):
        draw = rng.random() < epsilon
        pick = remaining[int(rng.integers(len(remaining)))] if draw else remaining[0]
        p = epsilon / len(remaining) + (1 - epsilon) * (pick == remaining[0])
        remaining.remove(pick)
        chosen.append(pick)
        propensity.append(p)
    return np.asarray(chosen, dtype=np.int64), np.asarray(propensity)


def shape(items: np.ndarray, scores: np.ndarray, k: int, options: Options,
          age_days: Callable[[np.ndarray], np.ndarray],
          similarity: Callable[[np.ndarray], np.ndarray | None],
          rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The ``k`` items served from a ranked pool, their scores and propensities."""
    items, scores = np.asarray(items), np.asarray(scores, dtype=np.float64)
    if options.freshness_days is not None and len(items):
        scores = freshen(scores, age_days(items), options.freshness_days)
        order = np.argsort(-scores, kind="stable")
        items, scores = items[order], scores[order]
    if options.diversity > 0 and len(items) > 1:
        sim = similarity(items)
        if sim is not None:
            # exploration draws from the whole pool, so it needs the whole pool ordered
            order = mmr(scores, sim, len(items) if options.explore > 0 else k, options.diversity)
            items, scores = items[order], scores[order]
    if options.explore > 0:
        picked, propensity = explore(k, len(items), options.explore, rng)
        return items[picked], scores[picked], propensity
    return items[:k], scores[:k], np.ones(min(k, len(items)))
