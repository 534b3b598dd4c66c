"""Results from the catalog's rows: the experiment's exposures and the plan's events
become numpy columns, the library's ``summarise`` and ``analyse`` do the rest.

Only the experiment's project's rows are read: its exposures, and the events of that
project (a unit id of another project is another unit, even when spelled alike). The
functions that take a record read its project from it (``record.project_id``), as the
record came from the project-scoped repository.

Variants without any unit yet get empty statistics, so that the analysis reports
``no_units`` / ``no_data`` explicitly instead of failing.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from vitrina.experiments import (
    AnalysisPlan,
    Experiment,
    ExperimentResult,
    Metric,
    MetricKind,
    Summary,
    analyse,
    summarise,
)
from vitrina.experiments.errors import InvalidMetric
from vitrina.experiments.stats import Adjusted, Proportion, Ratio, SampleMean, Statistic
from vitrina.experiments_service.errors import NoAnalysisPlan, NoData
from vitrina.experiments_service.repository import ExperimentRecord
from vitrina.storage.catalog.experiments import EventRow, ExposureRow

DAY = 86_400


def _columns(rows: list, names: tuple[str, ...], kinds: tuple[type, ...]) -> dict[str, np.ndarray]:
    columns = list(zip(*rows)) if rows else [()] * len(names)
    return {n: np.asarray(c, dtype=k) for n, c, k in zip(names, columns, kinds)}


def load_exposures(session: Session, project: str, key: str) -> dict[str, np.ndarray]:
    rows = session.execute(select(ExposureRow.unit_id, ExposureRow.variant, ExposureRow.timestamp)
                           .where(ExposureRow.project_id == project,
                                  ExposureRow.experiment == key)).all()
    return _columns(rows, ("unit_id", "variant", "timestamp"), (str, str, float))


def load_events(session: Session, project: str, key: str,
                metrics: tuple[Metric, ...]) -> dict[str, np.ndarray]:
    """The plan's kinds of events of the project, of the units exposed to the
    experiment only."""
    wanted = sorted({m.event for m in metrics} | {m.denominator for m in metrics if m.denominator})
    exposed = select(ExposureRow.unit_id).where(ExposureRow.project_id == project,
                                                ExposureRow.experiment == key)
    rows = session.execute(select(EventRow.unit_id, EventRow.event, EventRow.value,
                                  EventRow.timestamp)
                           .where(EventRow.project_id == project, EventRow.event.in_(wanted),
                                  EventRow.unit_id.in_(exposed))).all()
    return _columns(rows, ("unit_id", "event", "value", "timestamp"), (str, str, float, float))


def _empty(metric: Metric) -> Statistic:
    if metric.kind == MetricKind.PROPORTION:
        moment: Proportion | SampleMean = Proportion(0, 0.0)
    else:
        moment = SampleMean(0, 0.0, 0.0)
    if metric.kind == MetricKind.RATIO:
        return Ratio(moment, SampleMean(0, 0.0, 0.0), 0.0)
    if metric.pre_window:
        return Adjusted(moment, dataclasses.replace(moment), 0.0)
    return moment


def pad(summary: Summary, experiment: Experiment, metrics: tuple[Metric, ...]) -> Summary:
    """Empty statistics for every variant of the experiment that has no unit."""
    stats = {}
    for m in metrics:
        per = dict(summary.metrics.get(m.name, {}))
        for v in experiment.variant_keys:
            per.setdefault(v, _empty(m))
        stats[m.name] = per
    return Summary(dict(summary.units), stats, summary.multiple_exposures)


def _plan(record: ExperimentRecord) -> AnalysisPlan:
    if record.plan is None:
        raise NoAnalysisPlan(f"experiment {record.key!r} has no analysis plan: add one "
                             "(metrics, guardrails) with an update")
    return record.plan


def experiment_result(session: Session, record: ExperimentRecord,
                      end: float | None = None) -> ExperimentResult:
    plan = _plan(record)
    exposures = load_exposures(session, record.project_id, record.key)
    events = load_events(session, record.project_id, record.key, plan.metrics)
    summary = summarise(exposures, events, plan.metrics, end=end)
    assert isinstance(summary, Summary)
    return analyse(record.experiment, pad(summary, record.experiment, plan.metrics), plan)


@dataclass(frozen=True)
class TimelinePoint:
    """The cumulative comparison of one treatment with the control on one day."""

    day: int  # days since the epoch (UTC) of the units' first exposures
    variant: str
    units_control: int
    units_variant: int
    effect: float | None
    ci_low: float | None
    ci_high: float | None
    seq_low: float | None
    seq_high: float | None


@dataclass(frozen=True)
class Timeline:
    experiment: str
    metric: str
    control: str
    relative: bool
    alpha: float
    points: tuple[TimelinePoint, ...]


def effect_timeline(session: Session, record: ExperimentRecord,
                    metric: str | None = None) -> Timeline:
    """Day by day, the effect among units first exposed up to that day (each unit's
    events over its whole attribution window), with the fixed-horizon and the
    always-valid intervals. Only the always-valid one may be read at every look."""
    plan = _plan(record)
    names = [m.name for m in plan.metrics]
    name = metric or names[0]
    if name not in names:
        raise InvalidMetric(f"metric {name!r} is not in the plan: {names}")
    chosen = plan.metrics[names.index(name)]
    one = AnalysisPlan((chosen,), alpha=plan.alpha, relative=plan.relative,
                       sequential_tuning=plan.sequential_tuning,
                       srm_threshold=plan.srm_threshold, prior=plan.prior, correction=False)
    exposures = load_exposures(session, record.project_id, record.key)
    if not len(exposures["unit_id"]):
        raise NoData(f"experiment {record.key!r} has no exposures yet: nothing to plot")
    events = load_events(session, record.project_id, record.key, one.metrics)
    days = summarise(exposures, events, one.metrics, by_day=True)
    exp = record.experiment
    points = []
    for day, summary in days:
        result = analyse(exp, pad(summary, exp, one.metrics), one)
        for r in result.results:
            points.append(TimelinePoint(day, r.variant, r.units_control, r.units_variant,
                                        r.frequentist.effect, r.frequentist.ci_low,
                                        r.frequentist.ci_high, r.sequential.ci_low,
                                        r.sequential.ci_high))
    return Timeline(exp.key, name, exp.control.key, plan.relative, plan.alpha, tuple(points))
