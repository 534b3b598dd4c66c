"""Methods that are not gbstats', or where gbstats differs by design, checked
against scipy and statsmodels."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as sps
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import proportions_ztest

from vitrina.experiments.errors import InvalidMetric
from vitrina.experiments.stats import (
    Adjusted,
    Proportion,
    ResultStatus,
    SampleMean,
    beta_binomial,
    holm,
    srm_check,
    two_proportion_ztest,
    welch_test,
)
from vitrina.experiments.stats.bayesian import beta_win_probability_exact

from .conftest import close


def _mean(x: np.ndarray) -> SampleMean:
    return SampleMean(len(x), float(x.sum()), float((x * x).sum()))


def test_welch_absolute_equals_scipy():
    rng = np.random.default_rng(1)
    a, b = rng.lognormal(1, 1, 800), rng.lognormal(1.05, 1.1, 950)
    ours = welch_test(_mean(a), _mean(b), relative=False)
    theirs = sps.ttest_ind(b, a, equal_var=False)
    assert close(ours.p_value, theirs.pvalue, 1e-9)
    ci = theirs.confidence_interval(0.95)
    assert close(ours.ci_low, ci.low, 1e-9) and close(ours.ci_high, ci.high, 1e-9)


@pytest.mark.parametrize("counts", [(10000, 1000, 10000, 1100), (523, 17, 498, 31),
                                    (200000, 6000, 201000, 5900)])
def test_two_proportion_z_equals_statsmodels_and_chi_square(counts):
    n_a, s_a, n_b, s_b = counts
    ours = two_proportion_ztest(Proportion(n_a, s_a), Proportion(n_b, s_b))
    _, p_sm = proportions_ztest([s_b, s_a], [n_b, n_a])
    table = [[s_a, n_a - s_a], [s_b, n_b - s_b]]
    p_chi2 = sps.chi2_contingency(table, correction=False)[1]
    assert close(ours.p_value, p_sm, 1e-9) and close(ours.p_value, p_chi2, 1e-9)
    assert close(ours.effect, s_b / n_b - s_a / n_a, 1e-12)


def test_holm_equals_statsmodels():
    rng = np.random.default_rng(7)
    for _ in range(20):
        p = rng.uniform(0, 0.2, rng.integers(2, 12))
        expected = multipletests(p, method="holm")[1]
        assert np.allclose(holm(list(p)), expected, atol=1e-12)
    assert holm([0.01, None, 0.04]) == [0.02, None, 0.04]


def test_beta_binomial_equals_closed_form():
    for (n_a, s_a, n_b, s_b) in [(1000, 100, 1000, 120), (50, 3, 60, 2), (20000, 600, 20000, 640)]:
        ours = beta_binomial(Proportion(n_a, s_a), Proportion(n_b, s_b))
        exact = beta_win_probability_exact((1 + s_a, 1 + n_a - s_a), (1 + s_b, 1 + n_b - s_b))
        assert close(ours.chance_to_win, exact, 1e-7)


def test_beta_binomial_expected_loss_equals_monte_carlo():
    a, b = Proportion(400, 40), Proportion(400, 52)
    ours = beta_binomial(a, b)
    rng = np.random.default_rng(3)
    pa, pb = rng.beta(41, 361, 2_000_000), rng.beta(53, 349, 2_000_000)
    assert abs(ours.risk_control - np.maximum(pb - pa, 0).mean()) < 3e-5
    assert abs(ours.risk_treatment - np.maximum(pa - pb, 0).mean()) < 3e-5


def test_srm_examples_of_the_issue():
    assert srm_check([500, 500], [1, 1]).p_value > 0.05
    assert srm_check([100, 900], [1, 1]).p_value < 0.001
    assert srm_check([100, 900], [1, 1]).status == "mismatch"
    theirs = sps.chisquare([5010, 4990, 10100], [5025, 5025, 10050])
    assert close(srm_check([5010, 4990, 10100], [1, 1, 2]).p_value, theirs.pvalue, 1e-12)


def test_srm_without_a_computable_p_value():
    stray = srm_check([100, 100, 3], [1, 1, 0])
    assert stray.status == "mismatch" and stray.p_value is None
    assert srm_check([0, 0], [1, 1]).status == "no_units"
    assert srm_check([0, 0], [1, 1]).p_value is None


def test_cuped_reduces_variance_and_keeps_the_effect():
    rng = np.random.default_rng(11)
    n = 4000

    def arm(lift: float) -> Adjusted:
        pre = rng.gamma(2, 10, n)
        post = 0.9 * pre + rng.normal(5 + lift, 4, n)
        return Adjusted(_mean(post), _mean(pre), float((post * pre).sum()))

    a, b = arm(0.0), arm(1.0)
    adjusted = welch_test(a, b, relative=False)
    plain = welch_test(a.post, b.post, relative=False)
    assert adjusted.stderr < 0.35 * plain.stderr
    assert abs(adjusted.effect - 1.0) < 3 * adjusted.stderr
    assert adjusted.ci_low < 1.0 < adjusted.ci_high


def test_statistics_add_up():
    a, b = Proportion(10, 3), Proportion(20, 5)
    assert (a + b) == Proportion(30, 8)
    x, y = np.arange(5.0), np.arange(5.0, 12.0)
    assert close((_mean(x) + _mean(y)).variance, float(np.var(np.r_[x, y], ddof=1)), 1e-12)
    with pytest.raises(InvalidMetric):
        _ = a + _mean(x)


def test_no_units_status():
    assert welch_test(Proportion(0, 0), Proportion(10, 2)).status == ResultStatus.NO_UNITS
