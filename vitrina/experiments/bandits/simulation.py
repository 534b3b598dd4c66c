"""Replay a policy against simulated Bernoulli arms, with batched updates as in
production (decisions logged, rewards folded in every ``batch_size`` rounds)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vitrina.experiments.bandits.base import Bandit


@dataclass(frozen=True)
class SimulationResult:
    regret: float
    reward: float
    choices: np.ndarray
    propensities: np.ndarray


def simulate_bernoulli(policy: Bandit, means: np.ndarray | list[float], rounds: int, *,
                       batch_size: int = 50, seed: int = 0) -> SimulationResult:
    """Expected regret: sum over rounds of (best mean - chosen arm's mean)."""
    means = np.asarray(means, dtype=float)
    rng = np.random.default_rng([seed, 0x5EED])  # independent of any policy seed
    choices = np.empty(rounds, dtype=np.int64)
    propensities = np.empty(rounds)
    rewards = np.empty(rounds)
    start = 0
    for t in range(rounds):
        d = policy.choose()
        choices[t], propensities[t] = d.index, d.propensity
        rewards[t] = float(rng.random() < means[d.index])
        if t + 1 - start == batch_size or t + 1 == rounds:
            policy.update(choices[start:t + 1].tolist(), rewards[start:t + 1])
            start = t + 1
    regret = float(np.sum(means.max() - means[choices]))
    return SimulationResult(regret, float(rewards.sum()), choices, propensities)
