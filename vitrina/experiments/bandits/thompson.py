"""Thompson sampling for Bernoulli rewards (Beta posteriors per arm).

A decision draws one sample per arm's posterior and plays the best. Its propensity,
P(arm has the largest draw), has no closed form: it is integrated by
Gauss-Legendre quadrature in each arm's own quantile space (accurate whether the
posteriors are wide or needle-thin) and cached until the next update.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy import special

from vitrina.experiments.bandits.base import BasePolicy, Decision, register
from vitrina.experiments.errors import InvalidExperiment, InvalidLogs

_NODES, _WEIGHTS = np.polynomial.legendre.leggauss(96)
_NODES, _WEIGHTS = (_NODES + 1) / 2, _WEIGHTS / 2


def win_probabilities(alpha: np.ndarray, beta: np.ndarray) -> np.ndarray:
    """P(arm i's Beta draw is the largest), for every arm."""
    k = len(alpha)
    if k == 1:
        return np.ones(1)
    # x[i, m]: the m-th quantile node of arm i; cdf[j, i, m]: arm j's cdf there
    x = special.betaincinv(alpha[:, None], beta[:, None], _NODES[None, :])
    with np.errstate(divide="ignore"):
        log_cdf = np.log(special.betainc(alpha[:, None, None], beta[:, None, None],
                                         x[None, :, :]))
    own = log_cdf[np.arange(k), np.arange(k), :]
    others = log_cdf.sum(axis=0) - own
    p = (np.exp(others) * _WEIGHTS[None, :]).sum(axis=1)
    return p / p.sum()


@register("thompson")
class ThompsonBernoulli(BasePolicy):
    def __init__(self, arms: Sequence[str], *, prior: tuple[float, float] = (1.0, 1.0),
                 discount: float = 1.0, seed: int | None = None) -> None:
        super().__init__(arms, discount=discount, seed=seed)
        if min(prior) <= 0:
            raise InvalidExperiment("Beta prior parameters must be positive")
        self.prior = (float(prior[0]), float(prior[1]))
        self.successes = np.zeros(len(self.arms))
        self.failures = np.zeros(len(self.arms))
        self._probs: np.ndarray | None = None
        self._posterior: tuple[np.ndarray, np.ndarray] | None = None

    def posterior(self) -> tuple[np.ndarray, np.ndarray]:
        if self._posterior is None:
            self._posterior = (self.prior[0] + self.successes, self.prior[1] + self.failures)
        return self._posterior

    def probabilities(self, context: np.ndarray | None = None) -> np.ndarray:
        if self._probs is None:
            self._probs = win_probabilities(*self.posterior())
        return self._probs

    def choose(self, context: np.ndarray | None = None) -> Decision:
        draws = self.rng.beta(*self.posterior())
        return self.decide(self.probabilities(), int(np.argmax(draws)))

    def update(self, arms: Sequence[str | int], rewards: Sequence[float],
               contexts: np.ndarray | None = None) -> None:
        idx, r = self.batch(arms, rewards)
        if np.any((r < 0) | (r > 1)):
            raise InvalidLogs("Bernoulli rewards must lie in [0, 1]")
        factor = self.decay(len(idx))
        self.successes = self.successes * factor + np.bincount(idx, r, len(self.arms))
        self.failures = self.failures * factor + np.bincount(idx, 1 - r, len(self.arms))
        self._probs = self._posterior = None

    def to_dict(self) -> dict[str, Any]:
        return {**self.common(), "prior": list(self.prior),
                "state": {"successes": self.successes.tolist(),
                          "failures": self.failures.tolist()}}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ThompsonBernoulli:
        policy = cls(data["arms"], prior=tuple(data.get("prior", (1.0, 1.0))),
                     discount=data.get("discount", 1.0), seed=data.get("seed"))
        state = data.get("state", {})
        successes = np.asarray(state.get("successes", policy.successes), dtype=float)
        failures = np.asarray(state.get("failures", policy.failures), dtype=float)
        if successes.shape != policy.successes.shape or failures.shape != successes.shape:
            raise InvalidExperiment("bandit state does not match its arms")
        policy.successes, policy.failures = successes, failures
        return policy
