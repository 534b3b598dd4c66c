"""Result shapes of the tests: an explicit status, and ``None`` for anything that
was not computed (never a made-up 0 or 50%)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from vitrina.experiments import serde


class ResultStatus(StrEnum):
    OK = "ok"
    NO_UNITS = "no_units"
    TOO_FEW_UNITS = "too_few_units"
    ZERO_BASELINE = "zero_baseline"
    ZERO_VARIANCE = "zero_variance"


@dataclass(frozen=True)
class _Comparison:
    """What every comparison of a treatment with the control reports. ``effect`` is
    the treatment minus control difference, relative to the control mean (0.05 = +5%)
    when ``relative`` is true, absolute otherwise."""

    status: ResultStatus
    method: str
    relative: bool
    alpha: float
    control_mean: float | None = None
    treatment_mean: float | None = None
    effect: float | None = None
    stderr: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None

    @property
    def ok(self) -> bool:
        return self.status == ResultStatus.OK

    def to_dict(self) -> dict[str, Any]:
        return serde.to_dict(self)


@dataclass(frozen=True)
class Estimate(_Comparison):
    """A frequentist or sequential comparison, with its p-value."""

    p_value: float | None = None

    @property
    def significant(self) -> bool | None:
        return None if self.p_value is None else self.p_value < self.alpha


@dataclass(frozen=True)
class BayesianEstimate(_Comparison):
    """Posterior of the effect: credible interval, chance that the treatment beats
    the control, and the expected loss (risk) of shipping either."""

    chance_to_win: float | None = None
    risk_control: float | None = None
    risk_treatment: float | None = None
