"""Experiments: definitions, deterministic assignment, metrics, analysis, bandits
and off-policy evaluation. Pure library: no I/O beyond reading the tables given.

Typical use::

    exp = Experiment("hero", (Variant("control"), Variant("b")), traffic=0.5)
    assigner = Assigner(exp)                     # keep one per experiment
    assigner.assign("user-42").variant           # one unit, ~1 us
    assigner.assign_many(ids).variant_index      # millions, vectorised
    summary = summarise(exposures, events, metrics)          # DuckDB
    result = analyse(exp, summary, AnalysisPlan(metrics))    # JSON via to_dict()
"""

from vitrina.experiments.analysis import (
    AnalysisPlan,
    ExperimentResult,
    MetricResult,
    Recommendation,
    analyse,
)
from vitrina.experiments.assignment import Assigner, Assignment, BatchAssignment, Reason, assign
from vitrina.experiments.definitions import (
    BUCKETS,
    Experiment,
    Holdout,
    LayerSlot,
    RolloutSchedule,
    RolloutStage,
    Status,
    UnitType,
    Variant,
    check_layer,
    feature_flag,
)
from vitrina.experiments.errors import InvalidExperiment, InvalidLogs, InvalidMetric
from vitrina.experiments.metrics import Metric, MetricKind, Summary
from vitrina.experiments.summaries import summarise
from vitrina.experiments.targeting import Condition

__all__ = [
    "BUCKETS", "AnalysisPlan", "Assigner", "Assignment", "BatchAssignment", "Condition",
    "Experiment", "ExperimentResult", "Holdout", "InvalidExperiment", "InvalidLogs",
    "InvalidMetric", "LayerSlot", "Metric", "MetricKind", "MetricResult", "Reason",
    "Recommendation", "RolloutSchedule", "RolloutStage", "Status", "Summary", "UnitType",
    "Variant", "analyse", "assign", "check_layer", "feature_flag", "summarise",
]
