"""LinUCB (disjoint): one ridge regression of reward on context per arm; plays the
highest ``theta_a . x + alpha * sqrt(x' A_a^-1 x)``.

LinUCB is deterministic, so its logs only support evaluating policies that agree
with it; ``epsilon`` mixes in uniform exploration to keep every propensity
positive (``epsilon / n_arms`` at least).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from vitrina.experiments.bandits.base import BasePolicy, Decision, argmax_ties, register
from vitrina.experiments.errors import InvalidExperiment, InvalidLogs


@register("linucb")
class LinUCB(BasePolicy):
    def __init__(self, arms: Sequence[str], dim: int, *, alpha: float = 1.0, ridge: float = 1.0,
                 epsilon: float = 0.0, discount: float = 1.0, seed: int | None = None) -> None:
        super().__init__(arms, discount=discount, seed=seed)
        if dim < 1 or alpha < 0 or ridge <= 0 or not 0 <= epsilon <= 1:
            raise InvalidExperiment("LinUCB needs dim >= 1, alpha >= 0, ridge > 0, "
                                    "epsilon in [0, 1]")
        self.dim, self.alpha, self.ridge, self.epsilon = int(dim), float(alpha), float(ridge), \
            float(epsilon)
        k = len(self.arms)
        # sufficient statistics without the ridge term, so discounting ages data only
        self.xtx = np.zeros((k, self.dim, self.dim))
        self.xty = np.zeros((k, self.dim))
        self._inverse: np.ndarray | None = None

    def _context(self, context: np.ndarray | None) -> np.ndarray:
        if context is None:
            raise InvalidLogs("LinUCB needs a context vector")
        x = np.asarray(context, dtype=float).reshape(-1)
        if x.shape != (self.dim,):
            raise InvalidLogs(f"context must have {self.dim} features")
        return x

    def _inverses(self) -> np.ndarray:
        if self._inverse is None:
            self._inverse = np.linalg.inv(self.xtx + self.ridge * np.eye(self.dim))
        return self._inverse

    def scores(self, context: np.ndarray) -> np.ndarray:
        x = self._context(context)
        inv = self._inverses()
        theta = np.einsum("kij,kj->ki", inv, self.xty)
        width = np.sqrt(np.einsum("i,kij,j->k", x, inv, x))
        return theta @ x + self.alpha * width

    def probabilities(self, context: np.ndarray | None = None) -> np.ndarray:
        greedy = argmax_ties(self.scores(self._context(context)))
        return self.epsilon / len(self.arms) + (1 - self.epsilon) * greedy

    def choose(self, context: np.ndarray | None = None) -> Decision:
        return self.decide(self.probabilities(context))

    def update(self, arms: Sequence[str | int], rewards: Sequence[float],
               contexts: np.ndarray | None = None) -> None:
        idx, r = self.batch(arms, rewards)
        x = np.asarray(contexts, dtype=float) if contexts is not None else None
        if x is None or x.shape != (len(idx), self.dim):
            raise InvalidLogs(f"contexts must be an array of shape ({len(idx)}, {self.dim})")
        factor = self.decay(len(idx))
        self.xtx *= factor
        self.xty *= factor
        np.add.at(self.xtx, idx, np.einsum("ni,nj->nij", x, x))
        np.add.at(self.xty, idx, x * r[:, None])
        self._inverse = None

    def to_dict(self) -> dict[str, Any]:
        return {**self.common(), "dim": self.dim, "alpha": self.alpha, "ridge": self.ridge,
                "epsilon": self.epsilon,
                "state": {"xtx": self.xtx.tolist(), "xty": self.xty.tolist()}}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LinUCB:
        policy = cls(data["arms"], data["dim"], alpha=data.get("alpha", 1.0),
                     ridge=data.get("ridge", 1.0), epsilon=data.get("epsilon", 0.0),
                     discount=data.get("discount", 1.0), seed=data.get("seed"))
        state = data.get("state", {})
        xtx = np.asarray(state.get("xtx", policy.xtx), dtype=float)
        xty = np.asarray(state.get("xty", policy.xty), dtype=float)
        if xtx.shape != policy.xtx.shape or xty.shape != policy.xty.shape:
            raise InvalidExperiment("bandit state does not match its arms and dim")
        policy.xtx, policy.xty = xtx, xty
        return policy
