"""Guardrails: metrics that must not get worse, watched continuously.

A guardrail is judged on the always-valid (sequential) relative interval, so it
can be checked at every look without inflating false alarms:

- ``stop``: the whole interval is worse than the tolerated harm;
- ``warning``: the point estimate is worse than the tolerance, not yet conclusive;
- ``ok``: otherwise; ``unknown``: the estimate could not be computed.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from vitrina.experiments import serde
from vitrina.experiments.errors import InvalidMetric
from vitrina.experiments.stats.results import Estimate


class GuardrailStatus(StrEnum):
    OK = "ok"
    WARNING = "warning"
    STOP = "stop"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Guardrail:
    metric: str
    #: harm tolerated before stopping, on the scale of the effects (relative by
    #: default: 0.01 = 1% worse)
    tolerance: float = 0.0

    def __post_init__(self) -> None:
        if self.tolerance < 0:
            raise InvalidMetric("a guardrail tolerance is a harm size, >= 0")


@dataclass(frozen=True)
class GuardrailResult:
    metric: str
    variant: str
    status: GuardrailStatus
    tolerance: float
    effect: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return serde.to_dict(self)


def judge(guardrail: Guardrail, variant: str, estimate: Estimate,
          higher_is_better: bool) -> GuardrailResult:
    if not estimate.ok:
        return GuardrailResult(guardrail.metric, variant, GuardrailStatus.UNKNOWN,
                               guardrail.tolerance)
    assert estimate.effect is not None and estimate.ci_low is not None
    assert estimate.ci_high is not None
    sign = 1.0 if higher_is_better else -1.0
    # on the "good" scale, harm is negative: best case is the interval's good end
    best = max(sign * estimate.ci_low, sign * estimate.ci_high)
    point = sign * estimate.effect
    if best < -guardrail.tolerance:
        status = GuardrailStatus.STOP
    elif point < -guardrail.tolerance:
        status = GuardrailStatus.WARNING
    else:
        status = GuardrailStatus.OK
    return GuardrailResult(guardrail.metric, variant, status, guardrail.tolerance,
                           estimate.effect, estimate.ci_low, estimate.ci_high)
