"""Sequential testing with always-valid intervals and p-values: peek as often as
you like, the false-positive rate stays at most alpha.

This is the asymptotic confidence sequence of Waudby-Smith et al. (2023, eq. 9),
with the mixture tuned by ``tuning`` (the sample size at which the sequence is
tightest), and the matching always-valid p-value (the inverse of the mixture
e-value, an mSPRT with a normal mixing distribution). It is gbstats'
``SequentialTwoSidedTTest`` and equals it to 1e-6 on the same statistics.
"""

from __future__ import annotations

import numpy as np

from vitrina.experiments.stats.arms import arms
from vitrina.experiments.stats.frequentist import _estimate, effect_and_variance
from vitrina.experiments.stats.results import Estimate, ResultStatus
from vitrina.experiments.stats.statistics import Statistic

DEFAULT_TUNING = 5000.0


def rho(alpha: float, tuning: float) -> float:
    return float(np.sqrt((-2 * np.log(alpha) + np.log(-2 * np.log(alpha) + 1)) / tuning))


def sequential_kernel(g: dict, relative: bool, alpha: float, tuning: float) -> dict:
    effect, var = effect_and_variance(g, relative)
    n = g["n_a"] + g["n_b"]
    r = rho(alpha, tuning)
    nr2 = n * r**2 + 1
    width = np.sqrt(var * n) * np.sqrt(2 * nr2 * np.log(np.sqrt(nr2) / alpha) / (n * r) ** 2)
    st2 = effect**2 * n / var
    log_evalue = r**2 * st2 / (2 * nr2) - 0.5 * np.log(nr2)
    p = np.minimum(1.0, np.exp(-log_evalue))
    return {"effect": effect, "stderr": np.sqrt(var), "p_value": p,
            "ci_low": effect - width, "ci_high": effect + width}


def sequential_test(a: Statistic, b: Statistic, *, relative: bool = True, alpha: float = 0.05,
                    tuning: float = DEFAULT_TUNING) -> Estimate:
    x = arms(a, b, relative)
    values = None
    if not isinstance(x, ResultStatus):
        values = sequential_kernel(x.__dict__, relative, alpha, tuning)
    return _estimate("sequential", relative, alpha, x, values)
