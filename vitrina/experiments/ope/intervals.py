"""Confidence intervals for off-policy estimates.

- ``normal``: the central limit theorem on the per-round contributions (the
  estimators are means of them; SNIPS through its linearisation);
- ``bootstrap``: Open Bandit Pipeline's procedure, reproduced exactly: resample
  the per-round values with replacement by a legacy ``RandomState(seed)`` (the
  same stream as ``RandomState.choice``), take each resample's mean, report the
  alpha/2 and 1 - alpha/2 percentiles.
"""

from __future__ import annotations

import numpy as np
from scipy import stats as sps

_ROWS = 256  # resamples drawn per block: bounded memory, same random stream


def normal_interval(contributions: np.ndarray, value: float, alpha: float) -> tuple:
    n = len(contributions)
    se = float(np.std(contributions, ddof=1) / np.sqrt(n)) if n > 1 else float("nan")
    z = float(sps.norm.ppf(1 - alpha / 2))
    return value - z * se, value + z * se, se


def bootstrap_interval(samples: np.ndarray, alpha: float, n_bootstrap: int,
                       seed: int | None) -> tuple:
    rs = np.random.RandomState(seed)
    n = len(samples)
    means = np.empty(n_bootstrap)
    for start in range(0, n_bootstrap, _ROWS):
        rows = min(_ROWS, n_bootstrap - start)
        idx = rs.randint(0, n, size=(rows, n))
        means[start:start + rows] = samples[idx].mean(axis=1)
    low = float(np.percentile(means, 100 * (alpha / 2)))
    high = float(np.percentile(means, 100 * (1 - alpha / 2)))
    return low, high, float(np.std(means, ddof=1))
