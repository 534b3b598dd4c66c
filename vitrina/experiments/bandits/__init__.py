"""Bandit policies: Thompson sampling, UCB1, epsilon-greedy and LinUCB, each
returning decisions with their propensities and learning from logged batches."""

from vitrina.experiments.bandits.base import (
    REGISTRY,
    Bandit,
    Decision,
    bandit_from_dict,
)
from vitrina.experiments.bandits.counting import UCB1, EpsilonGreedy
from vitrina.experiments.bandits.linucb import LinUCB
from vitrina.experiments.bandits.simulation import SimulationResult, simulate_bernoulli
from vitrina.experiments.bandits.thompson import ThompsonBernoulli, win_probabilities

__all__ = [
    "REGISTRY", "UCB1", "Bandit", "Decision", "EpsilonGreedy", "LinUCB", "SimulationResult",
    "ThompsonBernoulli", "bandit_from_dict", "simulate_bernoulli", "win_probabilities",
]
