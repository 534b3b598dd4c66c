"""Turn a (control, treatment) pair of statistics into the numbers every test uses,
or into the status that says why no test can run."""

from __future__ import annotations

from dataclasses import dataclass

from vitrina.experiments.errors import InvalidMetric
from vitrina.experiments.stats import cuped
from vitrina.experiments.stats.results import ResultStatus
from vitrina.experiments.stats.statistics import Adjusted, Statistic


@dataclass(frozen=True)
class Arms:
    n_a: int
    n_b: int
    mean_a: float
    mean_b: float
    #: means before any CUPED adjustment (the base of relative effects)
    raw_a: float
    raw_b: float
    var_a: float
    var_b: float


def arms(a: Statistic, b: Statistic, relative: bool) -> Arms | ResultStatus:
    if type(a) is not type(b):
        raise InvalidMetric(f"cannot compare {type(a).__name__} with {type(b).__name__}")
    if a.n == 0 or b.n == 0:
        return ResultStatus.NO_UNITS
    if a.n < 2 or b.n < 2:
        return ResultStatus.TOO_FEW_UNITS
    if isinstance(a, Adjusted) and isinstance(b, Adjusted):
        t = cuped.theta(a, b)
        x, y = cuped.adjust(a, t), cuped.adjust(b, t)
        result = Arms(x.n, y.n, x.mean, y.mean, x.unadjusted_mean, y.unadjusted_mean,
                      x.variance, y.variance)
    else:
        result = Arms(a.n, b.n, a.mean, b.mean, a.mean, b.mean, a.variance, b.variance)
    if relative and (result.mean_a == 0 or result.raw_a == 0):
        return ResultStatus.ZERO_BASELINE
    if result.var_a <= 0 or result.var_b <= 0:
        return ResultStatus.ZERO_VARIANCE
    return result
