"""Reward models for the direct method and doubly robust estimates.

A model maps the logs to ``q_hat``: the expected reward of each action at each
position, shape (n_actions, n_positions) for context-free models or
(n_rounds, n_actions, n_positions).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from vitrina.experiments.ope.feedback import LoggedFeedback


class RewardModel(Protocol):
    name: str

    def fit_predict(self, feedback: LoggedFeedback) -> np.ndarray: ...


@dataclass(frozen=True)
class TabularRewardModel:
    """Mean logged reward per (action, position), shrunk towards the position's
    mean by ``prior_strength`` pseudo-observations; unseen pairs get that mean."""

    prior_strength: float = 0.0
    name: str = "tabular"

    def fit_predict(self, feedback: LoggedFeedback) -> np.ndarray:
        a, p = feedback.action, feedback.positions
        shape = (feedback.n_actions, feedback.n_positions)
        flat = a * shape[1] + p
        size = shape[0] * shape[1]
        counts = np.bincount(flat, minlength=size).reshape(shape).astype(float)
        sums = np.bincount(flat, feedback.reward, size).reshape(shape)
        pos_mean = sums.sum(axis=0) / np.maximum(counts.sum(axis=0), 1)
        k = self.prior_strength
        with np.errstate(invalid="ignore", divide="ignore"):
            q = (sums + k * pos_mean) / (counts + k)
        return np.where(counts + k > 0, q, pos_mean[None, :])
