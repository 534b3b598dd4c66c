"""Fixed-horizon tests: Welch's t-test (absolute or relative lift) and the pooled
two-proportion z-test.

``welch_test`` is gbstats' ``TwoSidedTTest``: the relative lift's variance by the
delta method, ``var_b / (m_a^2 n_b) + var_a m_b^2 / (m_a^4 n_a)``, with
Welch-Satterthwaite degrees of freedom; it equals gbstats to 1e-6 on the same
statistics. Where gbstats returns zeros for an uncomputable result, this returns
a status and ``None``; and an absolute effect over a zero control mean is computed
(gbstats refuses it).

``two_proportion_ztest`` is the textbook test (pooled standard error under H0 for
the p-value, unpooled for the interval): it is not in gbstats, and equals the
chi-square test of the 2x2 table without continuity correction.

The kernels take numpy arrays, so Monte Carlo checks run thousands of tests at once.
"""

from __future__ import annotations

import numpy as np
from scipy import stats as sps

from vitrina.experiments.stats.arms import Arms, arms
from vitrina.experiments.stats.results import Estimate, ResultStatus
from vitrina.experiments.stats.statistics import Proportion, Statistic


def effect_and_variance(x: Arms | dict, relative: bool) -> tuple:
    """Point estimate and its variance (arrays or floats)."""
    g = x.__dict__ if isinstance(x, Arms) else x
    if relative:
        effect = (g["mean_b"] - g["mean_a"]) / g["raw_a"]
        var = g["var_b"] / (g["raw_a"] ** 2 * g["n_b"]) + g["var_a"] * g["raw_b"] ** 2 / (
            g["raw_a"] ** 4 * g["n_a"])
    else:
        effect = g["mean_b"] - g["mean_a"]
        var = g["var_b"] / g["n_b"] + g["var_a"] / g["n_a"]
    return effect, var


def welch_dof(var_a, n_a, var_b, n_b):
    return (var_b / n_b + var_a / n_a) ** 2 / (
        var_b**2 / (n_b**2 * (n_b - 1)) + var_a**2 / (n_a**2 * (n_a - 1)))


def welch_kernel(g: dict, relative: bool, alpha: float) -> dict:
    effect, var = effect_and_variance(g, relative)
    se = np.sqrt(var)
    dof = welch_dof(g["var_a"], g["n_a"], g["var_b"], g["n_b"])
    p = 2 * sps.t.sf(np.abs(effect / se), dof)
    width = sps.t.ppf(1 - alpha / 2, dof) * se
    return {"effect": effect, "stderr": se, "p_value": p,
            "ci_low": effect - width, "ci_high": effect + width}


def _estimate(method: str, relative: bool, alpha: float, x: Arms | ResultStatus,
              values: dict | None = None) -> Estimate:
    if isinstance(x, ResultStatus):
        return Estimate(x, method, relative, alpha)
    v = {k: float(val) for k, val in (values or {}).items()}
    return Estimate(ResultStatus.OK, method, relative, alpha, x.raw_a, x.raw_b, **v)


def welch_test(a: Statistic, b: Statistic, *, relative: bool = True,
               alpha: float = 0.05) -> Estimate:
    x = arms(a, b, relative)
    values = None if isinstance(x, ResultStatus) else welch_kernel(x.__dict__, relative, alpha)
    return _estimate("welch", relative, alpha, x, values)


def two_proportion_kernel(n_a, s_a, n_b, s_b, alpha: float) -> dict:
    p_a, p_b = s_a / n_a, s_b / n_b
    pooled = (s_a + s_b) / (n_a + n_b)
    se0 = np.sqrt(pooled * (1 - pooled) * (1 / n_a + 1 / n_b))
    se = np.sqrt(p_a * (1 - p_a) / n_a + p_b * (1 - p_b) / n_b)
    effect = p_b - p_a
    z = sps.norm.ppf(1 - alpha / 2)
    return {"effect": effect, "stderr": se, "p_value": 2 * sps.norm.sf(np.abs(effect / se0)),
            "ci_low": effect - z * se, "ci_high": effect + z * se}


def two_proportion_ztest(a: Proportion, b: Proportion, *, alpha: float = 0.05) -> Estimate:
    """Absolute difference of two proportions (pooled z-test, unpooled interval)."""
    x = arms(a, b, relative=False)
    if isinstance(x, ResultStatus):
        return _estimate("two_proportion_z", False, alpha, x)
    values = two_proportion_kernel(a.n, a.sum, b.n, b.sum, alpha)
    return _estimate("two_proportion_z", False, alpha, x, values)
