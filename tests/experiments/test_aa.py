"""A/A Monte Carlo: the fixed test's false-positive rate is alpha, the sequential
test's stays at or below alpha when peeking daily. Vectorised over runs through
the same kernels the tests use."""

from __future__ import annotations

import numpy as np

from vitrina.experiments.stats import Proportion, sequential_test, welch_test
from vitrina.experiments.stats.frequentist import welch_kernel
from vitrina.experiments.stats.sequential import sequential_kernel

RUNS, ALPHA = 1000, 0.05


def _proportion_groups(conv_a, n_a, conv_b, n_b) -> dict:
    pa, pb = conv_a / n_a, conv_b / n_b
    return {"n_a": n_a, "n_b": n_b, "mean_a": pa, "mean_b": pb, "raw_a": pa, "raw_b": pb,
            "var_a": pa * (1 - pa), "var_b": pb * (1 - pb)}


def test_fixed_horizon_false_positive_rate_is_alpha():
    rng = np.random.default_rng(2024)
    n = 5000
    conv_a, conv_b = rng.binomial(n, 0.1, RUNS), rng.binomial(n, 0.1, RUNS)
    out = welch_kernel(_proportion_groups(conv_a, n, conv_b, n), True, ALPHA)
    rate = np.mean(out["p_value"] < ALPHA)
    assert 0.035 <= rate <= 0.065, rate
    # the kernel is the test: same numbers as the scalar API on one run
    one = welch_test(Proportion(n, int(conv_a[0])), Proportion(n, int(conv_b[0])))
    assert abs(one.p_value - out["p_value"][0]) < 1e-12


def test_sequential_with_daily_peeking_stays_below_alpha():
    rng = np.random.default_rng(99)
    days, per_day = 28, 400
    conv_a = rng.binomial(per_day, 0.1, (RUNS, days)).cumsum(axis=1)
    conv_b = rng.binomial(per_day, 0.1, (RUNS, days)).cumsum(axis=1)
    n = per_day * np.arange(1, days + 1)[None, :].repeat(RUNS, axis=0)
    g = _proportion_groups(conv_a, n, conv_b, n)
    seq = sequential_kernel(g, True, ALPHA, 5000.0)
    fixed = welch_kernel(g, True, ALPHA)
    seq_rate = np.mean((seq["p_value"] < ALPHA).any(axis=1))
    peeking_fixed_rate = np.mean((fixed["p_value"] < ALPHA).any(axis=1))
    assert seq_rate <= ALPHA, seq_rate
    # the point of it: peeking at a fixed-horizon test daily inflates errors
    assert peeking_fixed_rate > 2 * ALPHA, peeking_fixed_rate
    # the always-valid interval covers the true (zero) effect on every day
    covered = (seq["ci_low"] <= 0) & (seq["ci_high"] >= 0)
    assert np.mean(covered.all(axis=1)) >= 1 - ALPHA
    one = sequential_test(Proportion(int(n[0, -1]), int(conv_a[0, -1])),
                          Proportion(int(n[0, -1]), int(conv_b[0, -1])))
    assert abs(one.p_value - seq["p_value"][0, -1]) < 1e-12
