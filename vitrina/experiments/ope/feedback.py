"""Logged bandit feedback: what was shown, where, with which propensity, and the reward."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np

from vitrina.experiments.errors import InvalidLogs


@dataclass(frozen=True)
class LoggedFeedback:
    """One row per logged decision. ``position`` is 0-based (slot in a list of
    recommendations); ``pscore`` is the logging policy's probability of the
    logged action at that position."""

    action: np.ndarray
    reward: np.ndarray
    pscore: np.ndarray
    n_actions: int
    position: np.ndarray | None = None
    context: np.ndarray | None = None

    def __post_init__(self) -> None:
        n = len(self.action)
        for name in ("reward", "pscore"):
            if np.shape(getattr(self, name)) != (n,):
                raise InvalidLogs(f"{name} must have one value per logged action")
        if self.position is not None and np.shape(self.position) != (n,):
            raise InvalidLogs("position must have one value per logged action")
        if n == 0:
            raise InvalidLogs("no logged decisions")
        if np.any((self.action < 0) | (self.action >= self.n_actions)):
            raise InvalidLogs(f"actions must lie in [0, {self.n_actions})")
        if np.any(~(self.pscore > 0)) or np.any(self.pscore > 1):
            raise InvalidLogs("propensities must lie in (0, 1]: a zero propensity "
                              "cannot be reweighted")
        if self.position is not None and np.any(self.position < 0):
            raise InvalidLogs("positions are 0-based")

    @property
    def n_rounds(self) -> int:
        return len(self.action)

    @property
    def positions(self) -> np.ndarray:
        if self.position is None:
            return np.zeros(self.n_rounds, dtype=np.int64)
        return self.position

    @property
    def n_positions(self) -> int:
        return int(self.positions.max()) + 1


def load_open_bandit_csv(path: str | Path, n_actions: int = 80) -> LoggedFeedback:
    """The Open Bandit Dataset's ``all.csv`` layout: item_id, position (1-based),
    click, propensity_score, user features (the context is not loaded)."""
    with duckdb.connect() as con:
        rows = con.execute("SELECT item_id, position, click, propensity_score "
                           "FROM read_csv_auto(?)", [str(path)]).fetchnumpy()
    position = np.asarray(rows["position"], dtype=np.int64)
    return LoggedFeedback(
        action=np.asarray(rows["item_id"], dtype=np.int64),
        reward=np.asarray(rows["click"], dtype=float),
        pscore=np.asarray(rows["propensity_score"], dtype=float),
        n_actions=n_actions,
        position=position - position.min(),
    )
