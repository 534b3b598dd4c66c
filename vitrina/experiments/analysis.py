"""A full experiment result from summary statistics: every metric for every
treatment against the control with the fixed-horizon (Welch), sequential and
Bayesian analyses, Holm-adjusted p-values across treatments and metrics, the
sample ratio mismatch check, guardrails and a recommendation.

Recommendation: ``stop`` when a guardrail says so, ``invalid`` when the split is
broken (SRM: no effect is trustworthy), ``no_data`` before any unit, else
``continue``. The decision to ship stays with people.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from vitrina.experiments import serde
from vitrina.experiments.definitions import Experiment
from vitrina.experiments.errors import InvalidMetric
from vitrina.experiments.metrics import Metric, Summary
from vitrina.experiments.stats.bayesian import NormalPrior, bayesian_test
from vitrina.experiments.stats.corrections import holm
from vitrina.experiments.stats.frequentist import welch_test
from vitrina.experiments.stats.guardrails import (
    Guardrail,
    GuardrailResult,
    GuardrailStatus,
    judge,
)
from vitrina.experiments.stats.results import BayesianEstimate, Estimate
from vitrina.experiments.stats.sequential import DEFAULT_TUNING, sequential_test
from vitrina.experiments.stats.srm import DEFAULT_THRESHOLD, SrmCheck, SrmStatus, srm_check

PRODUCER = "vitrina.experiments.analysis"
VERSION = "1"


class Recommendation(StrEnum):
    CONTINUE = "continue"
    STOP = "stop"
    INVALID = "invalid"
    NO_DATA = "no_data"


@dataclass(frozen=True)
class AnalysisPlan:
    """What to compute. The first metric is the primary one; guardrails name metrics
    of the plan."""

    metrics: tuple[Metric, ...]
    guardrails: tuple[Guardrail, ...] = ()
    alpha: float = 0.05
    relative: bool = True
    sequential_tuning: float = DEFAULT_TUNING
    srm_threshold: float = DEFAULT_THRESHOLD
    prior: NormalPrior | None = None
    correction: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "metrics", tuple(self.metrics))
        object.__setattr__(self, "guardrails", tuple(self.guardrails))
        if not self.metrics:
            raise InvalidMetric("an analysis plan needs at least one metric")
        names = {m.name for m in self.metrics}
        missing = [g.metric for g in self.guardrails if g.metric not in names]
        if missing:
            raise InvalidMetric(f"guardrails on unknown metrics {missing}")
        if not 0 < self.alpha < 1:
            raise InvalidMetric("alpha must be between 0 and 1")

    def to_dict(self) -> dict[str, Any]:
        return serde.to_dict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AnalysisPlan:
        return serde.from_dict(cls, data)


@dataclass(frozen=True)
class MetricResult:
    metric: str
    variant: str
    control: str
    units_control: int
    units_variant: int
    frequentist: Estimate
    sequential: Estimate
    bayesian: BayesianEstimate
    #: Holm-adjusted fixed-horizon p-value (None when not computed or not corrected)
    adjusted_p_value: float | None = None


@dataclass(frozen=True)
class ExperimentResult:
    experiment: str
    control: str
    variants: tuple[str, ...]
    units: dict[str, int]
    srm: SrmCheck
    multiple_exposures: int
    results: tuple[MetricResult, ...]
    guardrails: tuple[GuardrailResult, ...]
    recommendation: Recommendation
    warnings: tuple[str, ...] = ()
    producer: str = PRODUCER
    version: str = VERSION
    extra: dict[str, Any] = field(default_factory=dict)

    def result(self, metric: str, variant: str) -> MetricResult:
        for r in self.results:
            if r.metric == metric and r.variant == variant:
                return r
        raise KeyError((metric, variant))

    def to_dict(self) -> dict[str, Any]:
        return serde.to_dict(self)


def analyse(experiment: Experiment, summary: Summary, plan: AnalysisPlan) -> ExperimentResult:
    control, variants = experiment.control.key, experiment.variant_keys
    counts = [summary.units.get(v, 0) for v in variants]
    srm = srm_check(counts, [v.weight for v in experiment.variants], plan.srm_threshold)
    warnings = []
    unknown = sorted(set(summary.units) - set(variants))
    if unknown:
        warnings.append(f"exposures to unknown variants {unknown} are ignored")
    if summary.multiple_exposures:
        warnings.append(f"{summary.multiple_exposures} units saw several variants and are excluded")
    if srm.status == SrmStatus.MISMATCH:
        warnings.append("sample ratio mismatch: the split does not match the weights")
    results = []
    for metric in plan.metrics:
        per_variant = summary.metrics.get(metric.name, {})
        a = per_variant.get(control)
        for variant in variants[1:]:
            b = per_variant.get(variant)
            if a is None or b is None:
                raise InvalidMetric(f"no statistics for metric {metric.name!r} and variant "
                                    f"{control if a is None else variant!r}")
            results.append(MetricResult(
                metric.name, variant, control, a.n, b.n,
                welch_test(a, b, relative=plan.relative, alpha=plan.alpha),
                sequential_test(a, b, relative=plan.relative, alpha=plan.alpha,
                                tuning=plan.sequential_tuning),
                bayesian_test(a, b, relative=plan.relative, alpha=plan.alpha, prior=plan.prior,
                              inverse=not metric.higher_is_better)))
    if plan.correction:
        adjusted = holm([r.frequentist.p_value for r in results])
        results = [_with_adjusted(r, p) for r, p in zip(results, adjusted)]
    by_name = {m.name: m for m in plan.metrics}
    guards = []
    for g in plan.guardrails:
        for r in results:
            if r.metric == g.metric:
                guards.append(judge(g, r.variant, r.sequential,
                                    by_name[g.metric].higher_is_better))
    if sum(counts) == 0:
        recommendation = Recommendation.NO_DATA
    elif any(g.status == GuardrailStatus.STOP for g in guards):
        recommendation = Recommendation.STOP
    elif srm.status == SrmStatus.MISMATCH:
        recommendation = Recommendation.INVALID
    else:
        recommendation = Recommendation.CONTINUE
    return ExperimentResult(experiment.key, control, variants, dict(zip(variants, counts)), srm,
                            summary.multiple_exposures, tuple(results), tuple(guards),
                            recommendation, tuple(warnings))


def _with_adjusted(r: MetricResult, p: float | None) -> MetricResult:
    return MetricResult(r.metric, r.variant, r.control, r.units_control, r.units_variant,
                        r.frequentist, r.sequential, r.bayesian, p)

