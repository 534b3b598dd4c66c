"""Frequentist, sequential and Bayesian results equal gbstats 0.8.0 on the same
summary statistics (reference values made by peers/gbstats_reference.py)."""

from __future__ import annotations

import pytest

from vitrina.experiments.stats import (
    NormalPrior,
    ResultStatus,
    bayesian_test,
    sequential_test,
    srm_check,
    statistic_from_dict,
    welch_test,
)

from .conftest import close

GBSTATS_CASES = 20


def _cases(ref):
    assert len(ref["cases"]) == GBSTATS_CASES
    return ref["cases"]


def _check_frequentist(ours, theirs):
    assert ours.status == ResultStatus.OK, ours
    assert close(ours.effect, theirs["expected"])
    assert close(ours.ci_low, theirs["ci"][0])
    assert close(ours.ci_high, theirs["ci"][1])
    assert close(ours.p_value, theirs["p_value"])
    assert close(ours.stderr, theirs["uplift"]["stddev"])


@pytest.mark.parametrize("relative", [True, False])
def test_welch_equals_gbstats(gbstats_reference, relative):
    diff = "relative" if relative else "absolute"
    compared = 0
    for case in _cases(gbstats_reference):
        theirs = case["results"][f"welch_{diff}"]
        if theirs["error_message"]:
            continue
        a, b = statistic_from_dict(case["a"]), statistic_from_dict(case["b"])
        _check_frequentist(welch_test(a, b, relative=relative), theirs)
        compared += 1
    assert compared >= 17


@pytest.mark.parametrize("relative", [True, False])
@pytest.mark.parametrize("tuning", [5000, 1000])
def test_sequential_equals_gbstats(gbstats_reference, relative, tuning):
    diff = "relative" if relative else "absolute"
    compared = 0
    for case in _cases(gbstats_reference):
        theirs = case["results"][f"sequential_{diff}_{tuning}"]
        if theirs["error_message"]:
            continue
        a, b = statistic_from_dict(case["a"]), statistic_from_dict(case["b"])
        _check_frequentist(sequential_test(a, b, relative=relative, tuning=tuning), theirs)
        compared += 1
    assert compared >= 17


@pytest.mark.parametrize("relative", [True, False])
@pytest.mark.parametrize("prior_name", ["flat", "proper"])
@pytest.mark.parametrize("inverse", [False, True])
def test_bayesian_equals_gbstats(gbstats_reference, relative, prior_name, inverse):
    diff = "relative" if relative else "absolute"
    prior = None if prior_name == "flat" else NormalPrior(0.01, 0.3**2)
    key = f"bayesian_{diff}_{prior_name}{'_inverse' if inverse else ''}"
    compared = 0
    for case in _cases(gbstats_reference):
        theirs = case["results"][key]
        if theirs["error_message"]:
            continue
        a, b = statistic_from_dict(case["a"]), statistic_from_dict(case["b"])
        ours = bayesian_test(a, b, relative=relative, prior=prior, inverse=inverse)
        assert ours.status == ResultStatus.OK
        assert close(ours.effect, theirs["expected"])
        assert close(ours.stderr, theirs["uplift"]["stddev"])
        assert close(ours.ci_low, theirs["ci"][0]) and close(ours.ci_high, theirs["ci"][1])
        assert close(ours.chance_to_win, theirs["chance_to_win"])
        assert close(ours.risk_control, theirs["risk"][0])
        assert close(ours.risk_treatment, theirs["risk"][1])
        compared += 1
    assert compared >= 17


def test_uncomputable_results_have_a_status_not_numbers(gbstats_reference):
    """Where gbstats returns zeros (and a 50% chance to win) with an error message,
    the result is a status and None."""
    by_id = {c["id"]: c for c in _cases(gbstats_reference)}
    expected = {"edge_zero_baseline": ResultStatus.ZERO_BASELINE,
                "edge_zero_variance": ResultStatus.ZERO_VARIANCE,
                "edge_one_unit": ResultStatus.TOO_FEW_UNITS}
    for case_id, status in expected.items():
        case = by_id[case_id]
        assert case["results"]["welch_relative"]["error_message"]
        assert case["results"]["bayesian_relative_flat"]["chance_to_win"] == 0.5
        a, b = statistic_from_dict(case["a"]), statistic_from_dict(case["b"])
        for result in (welch_test(a, b), sequential_test(a, b), bayesian_test(a, b)):
            assert result.status == status
            assert result.effect is None and result.ci_low is None
        assert bayesian_test(a, b).chance_to_win is None


def test_absolute_effect_over_zero_baseline_is_computed(gbstats_reference):
    """By design: gbstats refuses any test when the control mean is 0; an absolute
    difference does not divide by it, so it is computed here."""
    case = next(c for c in _cases(gbstats_reference) if c["id"] == "edge_zero_baseline")
    a, b = statistic_from_dict(case["a"]), statistic_from_dict(case["b"])
    assert welch_test(a, b, relative=False).status == ResultStatus.ZERO_VARIANCE
    a2 = statistic_from_dict({"type": "mean", "n": 100, "sum": 0.0, "sum_squares": 50.0})
    b2 = statistic_from_dict({"type": "mean", "n": 100, "sum": 10.0, "sum_squares": 60.0})
    result = welch_test(a2, b2, relative=False)
    assert result.ok and close(result.effect, 0.1)
    assert welch_test(a2, b2, relative=True).status == ResultStatus.ZERO_BASELINE


def test_srm_equals_gbstats(gbstats_reference):
    for row in gbstats_reference["srm"]:
        ours = srm_check(row["counts"], row["weights"])
        assert close(ours.p_value, row["p_value"], 1e-9)
