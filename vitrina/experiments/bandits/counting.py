"""Context-free policies on running (optionally discounted) counts and reward sums:
UCB1 and epsilon-greedy."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from vitrina.experiments.bandits.base import BasePolicy, Decision, argmax_ties, register
from vitrina.experiments.errors import InvalidExperiment


class CountingPolicy(BasePolicy):
    def __init__(self, arms: Sequence[str], *, discount: float = 1.0,
                 seed: int | None = None) -> None:
        super().__init__(arms, discount=discount, seed=seed)
        self.counts = np.zeros(len(self.arms))
        self.sums = np.zeros(len(self.arms))
        self._probs: np.ndarray | None = None  # context-free: fixed between updates

    def probabilities(self, context: np.ndarray | None = None) -> np.ndarray:
        if self._probs is None:
            self._probs = self._probabilities()
        return self._probs

    def _probabilities(self) -> np.ndarray:
        raise NotImplementedError

    def means(self) -> np.ndarray:
        return np.divide(self.sums, self.counts, out=np.zeros_like(self.sums),
                         where=self.counts > 0)

    def update(self, arms: Sequence[str | int], rewards: Sequence[float],
               contexts: np.ndarray | None = None) -> None:
        idx, r = self.batch(arms, rewards)
        factor = self.decay(len(idx))
        self.counts = self.counts * factor + np.bincount(idx, minlength=len(self.arms))
        self.sums = self.sums * factor + np.bincount(idx, r, len(self.arms))
        self._probs = None

    def choose(self, context: np.ndarray | None = None) -> Decision:
        return self.decide(self.probabilities(context))

    def state(self) -> dict[str, Any]:
        return {"counts": self.counts.tolist(), "sums": self.sums.tolist()}

    def load(self, state: dict[str, Any]) -> None:
        counts = np.asarray(state.get("counts", self.counts), dtype=float)
        sums = np.asarray(state.get("sums", self.sums), dtype=float)
        if counts.shape != self.counts.shape or sums.shape != self.sums.shape:
            raise InvalidExperiment("bandit state does not match its arms")
        self.counts, self.sums, self._probs = counts, sums, None


@register("ucb1")
class UCB1(CountingPolicy):
    """Plays each arm once, then the highest mean + sqrt(2 ln t / n). Deterministic:
    the propensity is 1 (or 1/k among k tied arms)."""

    def _probabilities(self) -> np.ndarray:
        untried = self.counts <= 0
        if untried.any():
            return untried / untried.sum()
        total = self.counts.sum()
        bonus = np.sqrt(2 * np.log(max(total, 1.0)) / self.counts)
        return argmax_ties(self.means() + bonus)

    def to_dict(self) -> dict[str, Any]:
        return {**self.common(), "state": self.state()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> UCB1:
        policy = cls(data["arms"], discount=data.get("discount", 1.0), seed=data.get("seed"))
        policy.load(data.get("state", {}))
        return policy


@register("epsilon_greedy")
class EpsilonGreedy(CountingPolicy):
    """Explores uniformly with probability epsilon, else plays the best mean
    (untried arms count as best, so each is tried early)."""

    def __init__(self, arms: Sequence[str], *, epsilon: float = 0.1, discount: float = 1.0,
                 seed: int | None = None) -> None:
        super().__init__(arms, discount=discount, seed=seed)
        if not 0 <= epsilon <= 1:
            raise InvalidExperiment("epsilon must be in [0, 1]")
        self.epsilon = float(epsilon)

    def _probabilities(self) -> np.ndarray:
        untried = self.counts <= 0
        greedy = untried / untried.sum() if untried.any() else argmax_ties(self.means())
        k = len(self.arms)
        return self.epsilon / k + (1 - self.epsilon) * greedy

    def to_dict(self) -> dict[str, Any]:
        return {**self.common(), "epsilon": self.epsilon, "state": self.state()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EpsilonGreedy:
        policy = cls(data["arms"], epsilon=data.get("epsilon", 0.1),
                     discount=data.get("discount", 1.0), seed=data.get("seed"))
        policy.load(data.get("state", {}))
        return policy
