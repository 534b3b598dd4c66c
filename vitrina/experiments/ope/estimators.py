"""Off-policy estimators of a new policy's value from logs of an old one.

With logged action a_i at position k_i, reward r_i, behaviour propensity p_i,
the evaluated policy's probabilities pi(a | x_i, k_i) and a reward model q:

- IPS:   mean( r_i w_i ),  w_i = pi(a_i | x_i, k_i) / p_i
- SNIPS: mean( r_i w_i ) / mean( w_i )
- DM:    mean( sum_a pi(a | x_i, k_i) q(x_i, a, k_i) )
- DR:    DM_i + w_i (r_i - q(x_i, a_i, k_i)), averaged

These are Open Bandit Pipeline's definitions and equal its estimators to 1e-6 on
the same inputs. ``action_dist`` and ``q_hat`` are (n_rounds, n_actions,
n_positions) arrays, or (n_actions, n_positions) when they do not depend on the
round (a context-free policy or model): no need to tile them.

Intervals are over the per-round contributions, so DM's is conditional on the
reward model: it does not include the model's own error (for a context-free model
it is nearly a point). Read DR's interval for an honest width.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from vitrina.experiments import serde
from vitrina.experiments.errors import InvalidLogs
from vitrina.experiments.ope.feedback import LoggedFeedback
from vitrina.experiments.ope.intervals import bootstrap_interval, normal_interval

Interval = Literal["normal", "bootstrap"]


@dataclass(frozen=True)
class PolicyValue:
    estimator: str
    value: float
    ci_low: float
    ci_high: float
    stderr: float
    n_rounds: int
    alpha: float
    interval: str

    def to_dict(self) -> dict[str, Any]:
        return serde.to_dict(self)


def _at(table: np.ndarray, fb: LoggedFeedback, name: str) -> tuple[np.ndarray, np.ndarray]:
    """(values of the logged action, rows over all actions) at each round's position."""
    n, pos = fb.n_rounds, fb.positions
    if table.ndim == 2:
        if table.shape[0] != fb.n_actions or table.shape[1] < fb.n_positions:
            raise InvalidLogs(f"{name} must have shape (n_actions, n_positions)")
        return table[fb.action, pos], table[:, pos].T
    if table.ndim != 3 or table.shape[0] != n or table.shape[1] != fb.n_actions \
            or table.shape[2] < fb.n_positions:
        raise InvalidLogs(f"{name} must have shape (n_rounds, n_actions, n_positions)")
    rows = np.arange(n)
    return table[rows, fb.action, pos], table[rows, :, pos]


def _weights(fb: LoggedFeedback, action_dist: np.ndarray) -> np.ndarray:
    chosen, _ = _at(np.asarray(action_dist, dtype=float), fb, "action_dist")
    return chosen / fb.pscore


def _direct(fb: LoggedFeedback, action_dist: np.ndarray, q_hat: np.ndarray) -> np.ndarray:
    _, pi = _at(np.asarray(action_dist, dtype=float), fb, "action_dist")
    _, q = _at(np.asarray(q_hat, dtype=float), fb, "q_hat")
    return (pi * q).sum(axis=1) / pi.sum(axis=1)


def ips_rounds(fb: LoggedFeedback, action_dist: np.ndarray, q_hat=None) -> np.ndarray:
    return fb.reward * _weights(fb, action_dist)


def snips_rounds(fb: LoggedFeedback, action_dist: np.ndarray, q_hat=None) -> np.ndarray:
    w = _weights(fb, action_dist)
    return fb.reward * w / w.mean()


def dm_rounds(fb: LoggedFeedback, action_dist: np.ndarray, q_hat: np.ndarray) -> np.ndarray:
    return _direct(fb, action_dist, q_hat)


def dr_rounds(fb: LoggedFeedback, action_dist: np.ndarray, q_hat: np.ndarray) -> np.ndarray:
    w = _weights(fb, action_dist)
    q_logged, _ = _at(np.asarray(q_hat, dtype=float), fb, "q_hat")
    return _direct(fb, action_dist, q_hat) + w * (fb.reward - q_logged)


RoundsFn = Callable[..., np.ndarray]
ESTIMATORS: dict[str, tuple[RoundsFn, bool]] = {
    # name: (per-round contributions, needs a reward model)
    "ips": (ips_rounds, False),
    "snips": (snips_rounds, False),
    "dm": (dm_rounds, True),
    "dr": (dr_rounds, True),
}


def estimate(name: str, fb: LoggedFeedback, action_dist: np.ndarray,
             q_hat: np.ndarray | None = None, *, alpha: float = 0.05,
             interval: Interval = "normal", n_bootstrap: int = 10_000,
             seed: int | None = None) -> PolicyValue:
    if name not in ESTIMATORS:
        raise InvalidLogs(f"unknown estimator {name!r}", details={"allowed": sorted(ESTIMATORS)})
    rounds_fn, needs_model = ESTIMATORS[name]
    if needs_model and q_hat is None:
        raise InvalidLogs(f"estimator {name!r} needs q_hat from a reward model")
    rounds = rounds_fn(fb, action_dist, q_hat)
    value = float(rounds.mean())
    if interval == "bootstrap":
        low, high, se = bootstrap_interval(rounds, alpha, n_bootstrap, seed)
    elif interval == "normal":
        contributions = rounds
        if name == "snips":  # linearised: w (r - V) / mean(w)
            w = _weights(fb, action_dist)
            contributions = w * (fb.reward - value) / w.mean() + value
        low, high, se = normal_interval(contributions, value, alpha)
    else:
        raise InvalidLogs(f"unknown interval {interval!r}: 'normal' or 'bootstrap'")
    return PolicyValue(name, value, low, high, se, fb.n_rounds, alpha, interval)


def evaluate(fb: LoggedFeedback, action_dist: np.ndarray, q_hat: np.ndarray | None = None,
             *, estimators: tuple[str, ...] | None = None,
             **options: Any) -> dict[str, PolicyValue]:
    """Several estimators at once: by default all of them with a reward model's
    ``q_hat``, IPS and SNIPS without."""
    if estimators is None:
        estimators = tuple(n for n, (_, model) in ESTIMATORS.items()
                           if q_hat is not None or not model)
    return {name: estimate(name, fb, action_dist, q_hat, **options) for name in estimators}
