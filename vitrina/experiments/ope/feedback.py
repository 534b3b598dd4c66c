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
    logged action at that position; ``context`` is an optional (n_rounds, d)
    numeric matrix of what the logging policy knew, named by ``context_columns``."""

    action: np.ndarray
    reward: np.ndarray
    pscore: np.ndarray
    n_actions: int
    position: np.ndarray | None = None
    context: np.ndarray | None = None
    context_columns: tuple[str, ...] | None = None

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
        if self.context is not None:
            shape = np.shape(self.context)
            if len(shape) != 2 or shape[0] != n:
                raise InvalidLogs("context must be a matrix with one row per logged action")
            if not np.all(np.isfinite(self.context)):
                raise InvalidLogs("context must be finite numbers")
            if self.context_columns is not None and len(self.context_columns) != shape[1]:
                raise InvalidLogs("context_columns must name every context column")

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


USER_FEATURE, AFFINITY = "user_feature_", "user-item_affinity_"


def load_open_bandit_csv(path: str | Path, n_actions: int = 80) -> LoggedFeedback:
    """The Open Bandit Dataset's ``all.csv`` layout: item_id, position (1-based),
    click, propensity_score, then the context: ``user_feature_*`` (categorical,
    hashed strings: one-hot, one column per value seen, in sorted order) and
    ``user-item_affinity_*`` (numeric, kept as they are). A file without those
    columns loads with ``context`` None."""
    with duckdb.connect() as con:
        rows = con.execute("SELECT * FROM read_csv_auto(?)", [str(path)]).fetchnumpy()
    position = np.asarray(rows["position"], dtype=np.int64)
    context, columns = _context(rows)
    return LoggedFeedback(
        action=np.asarray(rows["item_id"], dtype=np.int64),
        reward=np.asarray(rows["click"], dtype=float),
        pscore=np.asarray(rows["propensity_score"], dtype=float),
        n_actions=n_actions,
        position=position - position.min(),
        context=context,
        context_columns=columns,
    )


def _context(rows: dict[str, np.ndarray]) -> tuple[np.ndarray | None, tuple[str, ...] | None]:
    parts, names = [], []
    for name in (c for c in rows if c.startswith(USER_FEATURE)):
        values = np.asarray(rows[name]).astype(str)
        levels, codes = np.unique(values, return_inverse=True)
        parts.append(np.eye(len(levels))[codes])
        names += [f"{name}={v}" for v in levels]
    affinity = sorted((c for c in rows if c.startswith(AFFINITY)),
                      key=lambda c: int(c[len(AFFINITY):]))
    if affinity:
        parts.append(np.column_stack([np.asarray(rows[c], dtype=float) for c in affinity]))
        names += affinity
    if not parts:
        return None, None
    return np.hstack(parts), tuple(names)
