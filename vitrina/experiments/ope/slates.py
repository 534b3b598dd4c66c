"""Off-policy estimates of a deterministic ranking from lists logged position by position.

Each logged row is one shown slot: slate s, position k (0-based), item a, reward r,
and the logging policy's propensity p of putting a at k *given the items above it*
(what a sequential sampler knows when it fills the list). The product of a slate's
propensities down to k is then the probability of its whole prefix, and the
estimators are the cascade ones (reward-interaction IPS, McInerney et al. 2020;
cascade-DR, Kiyohara et al. 2022): a slot's reward may depend on the items above it,
not on those below. For a deterministic ranking c:

    w_sk  = prod_{j<=k} 1{c_sj = a_sj} / p_sj     (w_s,-1 = 1)
    IPS   = sum r w / n_slots
    SNIPS = sum r w / sum w
    DR    = sum [ w_s,k-1 q(c_sk, k) + w_sk (r - q(a_sk, k)) ] / n_slots

so each is clicks per shown slot, over the positions the logs show. With one
position per slate these are exactly ``estimators.estimate``'s IPS, SNIPS and DR
(tested). Slots of a slate are not independent: the intervals come from per-slate
sums (the delta method for these ratios), and ``difference`` compares two
rankings on the same slates, pairing them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vitrina.experiments.errors import InvalidLogs
from vitrina.experiments.ope.estimators import PolicyValue
from vitrina.experiments.ope.intervals import normal_interval

SLATE_ESTIMATORS = ("ips", "snips", "dr")


@dataclass(frozen=True)
class SlateLogs:
    """One row per shown slot; every slate shows positions 0..L-1 once each."""

    slate: np.ndarray
    position: np.ndarray
    action: np.ndarray
    reward: np.ndarray
    pscore: np.ndarray

    def __post_init__(self) -> None:
        n = len(self.slate)
        if n == 0:
            raise InvalidLogs("no logged slots")
        for name in ("position", "action", "reward", "pscore"):
            if np.shape(getattr(self, name)) != (n,):
                raise InvalidLogs(f"{name} must have one value per logged slot")
        if np.any(~(self.pscore > 0)) or np.any(self.pscore > 1):
            raise InvalidLogs("propensities must lie in (0, 1]")
        _, inverse, sizes = np.unique(self.slate, return_inverse=True, return_counts=True)
        order = np.lexsort((self.position, inverse))
        starts = np.concatenate(([0], np.cumsum(sizes)[:-1]))
        expected = np.arange(n) - starts[inverse[order]]
        if not np.array_equal(self.position[order], expected):
            raise InvalidLogs("each slate must log positions 0..L-1 exactly once")
        object.__setattr__(self, "_slate_index", inverse)
        object.__setattr__(self, "_sizes", sizes)

    @property
    def n_slates(self) -> int:
        return len(self._sizes)


@dataclass(frozen=True)
class SlateEstimate:
    value: PolicyValue
    #: each slate's influence on the estimate: mean 0, its spread gives the interval
    influence: np.ndarray


def weights(logs: SlateLogs, chosen: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(w_sk, w_s,k-1) of each slot for the ranking that shows ``chosen[i]`` at row
    i's slate and position (-1: it shows nothing there)."""
    chosen = np.asarray(chosen)
    if chosen.shape != logs.action.shape:
        raise InvalidLogs("chosen must name one action per logged slot")
    ratio = (chosen == logs.action) / logs.pscore
    acc = np.ones(logs.n_slates)
    w, before = np.empty(len(ratio)), np.empty(len(ratio))
    s = logs._slate_index
    for k in range(int(logs.position.max()) + 1):
        rows = np.flatnonzero(logs.position == k)
        before[rows] = acc[s[rows]]
        acc[s[rows]] *= ratio[rows]
        w[rows] = acc[s[rows]]
    return w, before


def _ratio(name: str, num: np.ndarray, den: np.ndarray, n_rows: int, alpha: float) -> SlateEstimate:
    total = den.sum()
    if not total > 0:  # the ranking never agrees with the logs: nothing to reweight
        nan = float("nan")
        return SlateEstimate(PolicyValue(name, nan, nan, nan, nan, n_rows, alpha, "normal"),
                             np.full(len(num), np.nan))
    value = float(num.sum() / total)
    influence = (num - value * den) / den.mean()
    low, high, se = normal_interval(influence + value, value, alpha)
    return SlateEstimate(PolicyValue(name, value, low, high, se, n_rows, alpha, "normal"),
                         influence)


def estimate_ranking(logs: SlateLogs, chosen: np.ndarray, q_logged: np.ndarray | None = None,
                     q_chosen: np.ndarray | None = None, *, alpha: float = 0.05
                     ) -> dict[str, SlateEstimate]:
    """IPS and SNIPS, and DR when the reward model's ``q_logged`` (of each logged
    slot's item) and ``q_chosen`` (of the ranking's item there; 0 where it shows
    nothing) are given."""
    w, before = weights(logs, chosen)
    s, n = logs._slate_index, len(logs.slate)

    def per_slate(values: np.ndarray) -> np.ndarray:
        return np.bincount(s, values, logs.n_slates)

    slots = logs._sizes.astype(float)
    clicks = per_slate(logs.reward * w)
    out = {"ips": _ratio("ips", clicks, slots, n, alpha),
           "snips": _ratio("snips", clicks, per_slate(w), n, alpha)}
    if q_logged is not None and q_chosen is not None:
        q_logged, q_chosen = np.asarray(q_logged, float), np.asarray(q_chosen, float)
        if q_logged.shape != w.shape or q_chosen.shape != w.shape:
            raise InvalidLogs("q_logged and q_chosen need one value per logged slot")
        direct = before * np.where(np.asarray(chosen) >= 0, q_chosen, 0.0)
        out["dr"] = _ratio("dr", per_slate(direct + w * (logs.reward - q_logged)), slots, n, alpha)
    return out


def difference(a: SlateEstimate, b: SlateEstimate, alpha: float = 0.05) -> PolicyValue:
    """a minus b, both estimated on the same slates: the interval of the paired
    per-slate influences (their correlation through the shared logs counts)."""
    name = f"{a.value.estimator} difference"
    value = a.value.value - b.value.value
    diff = a.influence - b.influence
    if not np.all(np.isfinite(diff)):
        nan = float("nan")
        return PolicyValue(name, nan, nan, nan, nan, a.value.n_rounds, alpha, "normal")
    low, high, se = normal_interval(diff + value, value, alpha)
    return PolicyValue(name, value, low, high, se, a.value.n_rounds, alpha, "normal")
