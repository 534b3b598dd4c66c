"""A full result from summary statistics: all analyses, Holm, SRM, guardrails,
recommendation, JSON-ready."""

from __future__ import annotations

import json

import pytest

from vitrina.experiments.analysis import AnalysisPlan, Recommendation, analyse
from vitrina.experiments.definitions import Experiment, Variant
from vitrina.experiments.errors import InvalidMetric
from vitrina.experiments.metrics import Metric, Summary
from vitrina.experiments.stats import Guardrail, Proportion, SampleMean, holm

EXP = Experiment("checkout", (Variant("control"), Variant("b"), Variant("c")))
METRICS = (Metric("conversion", "proportion", "purchase"),
           Metric("latency", "mean", "page_load", higher_is_better=False))


def _summary(units=(10000, 10000, 10000), conv=(1000, 1100, 990),
             latency=((20000.0, 50000.0),) * 3) -> Summary:
    variants = EXP.variant_keys
    return Summary(
        dict(zip(variants, units)),
        {"conversion": {v: Proportion(n, c) for v, n, c in zip(variants, units, conv)},
         "latency": {v: SampleMean(n, s, ss) for v, n, (s, ss) in zip(variants, units, latency)}})


def test_full_result_is_json_and_adjusted():
    plan = AnalysisPlan(METRICS, (Guardrail("latency", 0.02),))
    result = analyse(EXP, _summary(), plan)
    data = json.loads(json.dumps(result.to_dict()))
    assert data["recommendation"] == "continue" and data["srm"]["status"] == "ok"
    assert len(result.results) == 4 and len(result.guardrails) == 2
    raw = [r.frequentist.p_value for r in result.results]
    assert [r.adjusted_p_value for r in result.results] == holm(raw)
    conv_b = result.result("conversion", "b")
    assert conv_b.frequentist.ok and conv_b.frequentist.effect == pytest.approx(0.1)
    assert conv_b.bayesian.chance_to_win > 0.95
    assert conv_b.sequential.ci_high - conv_b.sequential.ci_low > \
        conv_b.frequentist.ci_high - conv_b.frequentist.ci_low
    assert data["producer"] == "vitrina.experiments.analysis" and data["version"]


def test_guardrail_stops_when_clearly_worse():
    slow = ((20000.0, 50000.0), (26000.0, 80000.0), (20000.0, 50000.0))
    plan = AnalysisPlan(METRICS, (Guardrail("latency", 0.02),))
    result = analyse(EXP, _summary(latency=slow), plan)
    by_variant = {g.variant: g.status for g in result.guardrails}
    assert by_variant == {"b": "stop", "c": "ok"}
    assert result.recommendation == Recommendation.STOP
    # lower is better: the Bayesian chance that b "wins" on latency is ~0
    assert result.result("latency", "b").bayesian.chance_to_win < 0.01


def test_srm_invalidates_and_empty_data_says_so():
    broken = analyse(EXP, _summary(units=(10000, 10000, 8000), conv=(1000, 1000, 800)),
                     AnalysisPlan(METRICS))
    assert broken.srm.status == "mismatch" and broken.recommendation == Recommendation.INVALID
    assert any("sample ratio" in w for w in broken.warnings)
    empty = analyse(EXP, _summary(units=(0, 0, 0), conv=(0, 0, 0),
                                  latency=((0.0, 0.0),) * 3), AnalysisPlan(METRICS))
    assert empty.recommendation == Recommendation.NO_DATA
    r = empty.result("conversion", "b")
    assert r.frequentist.status == "no_units" and r.frequentist.p_value is None
    assert r.adjusted_p_value is None and r.bayesian.chance_to_win is None


def test_plan_checks_and_round_trip():
    with pytest.raises(InvalidMetric):
        AnalysisPlan(())
    with pytest.raises(InvalidMetric):
        AnalysisPlan(METRICS, (Guardrail("missing"),))
    plan = AnalysisPlan(METRICS, (Guardrail("latency", 0.01),), alpha=0.1)
    assert AnalysisPlan.from_dict(json.loads(json.dumps(plan.to_dict()))) == plan
    with pytest.raises(InvalidMetric):
        analyse(EXP, Summary({"control": 5}, {"conversion": {}, "latency": {}}), plan)
