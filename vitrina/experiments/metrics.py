"""Metric definitions and the summary statistics they produce.

A metric turns each unit's events after its first exposure into one number: the
sum (or count) of its events inside ``[first exposure, first exposure + window)``;
a proportion is whether there was any. The CUPED covariate is the same per-unit
value over ``[first exposure - pre_window, first exposure)``. Units without events
count as zeros. :func:`vitrina.experiments.summaries.summarise` computes them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Literal

from vitrina.experiments import serde
from vitrina.experiments.errors import InvalidMetric
from vitrina.experiments.stats.statistics import Statistic, statistic_from_dict

_NAME = re.compile(r"^[A-Za-z0-9_.:-]{1,128}$")


class MetricKind(StrEnum):
    PROPORTION = "proportion"
    MEAN = "mean"
    RATIO = "ratio"


@dataclass(frozen=True)
class Metric:
    name: str
    kind: MetricKind
    event: str
    #: the ratio's denominator event (ratio metrics only)
    denominator: str | None = None
    #: per-unit value: the sum of event values or the number of events
    aggregate: Literal["sum", "count"] = "sum"
    #: attribution window after the first exposure, in seconds (None: no limit)
    window: float | None = None
    #: CUPED: pre-exposure period used as covariate, in seconds (None: no CUPED)
    pre_window: float | None = None
    higher_is_better: bool = True

    def __post_init__(self) -> None:
        if self.kind not in set(MetricKind):
            raise InvalidMetric(f"metric kind {self.kind!r} is not one of "
                                f"{[k.value for k in MetricKind]}")
        object.__setattr__(self, "kind", MetricKind(self.kind))
        for label, value in (("metric name", self.name), ("event", self.event)):
            if not _NAME.match(value):
                raise InvalidMetric(f"{label} {value!r} must be 1-128 of letters, digits, '_.:-'")
        if (self.kind == MetricKind.RATIO) != (self.denominator is not None):
            raise InvalidMetric(f"metric {self.name!r}: a denominator is for ratio metrics only")
        if self.kind == MetricKind.RATIO and self.pre_window is not None:
            raise InvalidMetric(f"metric {self.name!r}: CUPED is not available for ratios")
        if self.aggregate not in ("sum", "count"):
            raise InvalidMetric(f"metric {self.name!r}: aggregate is 'sum' or 'count'")
        for label, value in (("window", self.window), ("pre_window", self.pre_window)):
            if value is not None and not value > 0:
                raise InvalidMetric(f"metric {self.name!r}: {label} must be positive")

    def to_dict(self) -> dict[str, Any]:
        return serde.to_dict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Metric:
        return serde.from_dict(cls, data)


@dataclass(frozen=True)
class Summary:
    """Units per variant and each metric's statistic per variant."""

    units: dict[str, int]
    metrics: dict[str, dict[str, Statistic]]
    multiple_exposures: int = 0

    def __add__(self, other: Summary) -> Summary:
        units = {k: self.units.get(k, 0) + other.units.get(k, 0)
                 for k in {**self.units, **other.units}}
        metrics: dict[str, dict[str, Statistic]] = {}
        for name in {**self.metrics, **other.metrics}:
            mine, theirs = self.metrics.get(name, {}), other.metrics.get(name, {})
            metrics[name] = {v: (mine[v] + theirs[v]) if v in mine and v in theirs
                             else mine.get(v) or theirs[v] for v in {**mine, **theirs}}
        return Summary(units, metrics, self.multiple_exposures + other.multiple_exposures)

    def to_dict(self) -> dict[str, Any]:
        return {"units": dict(self.units), "multiple_exposures": self.multiple_exposures,
                "metrics": {m: {v: s.to_dict() for v, s in per.items()}
                            for m, per in self.metrics.items()}}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Summary:
        return cls({k: int(v) for k, v in data["units"].items()},
                   {m: {v: statistic_from_dict(s) for v, s in per.items()}
                    for m, per in data["metrics"].items()},
                   int(data.get("multiple_exposures", 0)))
