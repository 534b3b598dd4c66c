"""Sample ratio mismatch: do the units per variant match the configured weights?

Pearson's chi-square goodness of fit over the variants with a positive weight,
as gbstats' ``check_srm`` (equal to it when all weights are positive). A unit
in a zero-weight variant is itself a mismatch: reported without a p-value.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from scipy import stats as sps

from vitrina.experiments import serde

#: a real SRM gives tiny p-values; 0.001 keeps false alarms rare across many experiments
DEFAULT_THRESHOLD = 0.001


class SrmStatus(StrEnum):
    OK = "ok"
    MISMATCH = "mismatch"
    NO_UNITS = "no_units"
    NOT_APPLICABLE = "not_applicable"


@dataclass(frozen=True)
class SrmCheck:
    status: SrmStatus
    observed: tuple[int, ...]
    expected: tuple[float, ...]
    threshold: float
    p_value: float | None = None
    statistic: float | None = None
    message: str = ""

    def to_dict(self) -> dict[str, Any]:
        return serde.to_dict(self)


def srm_check(counts: Sequence[int], weights: Sequence[float],
              threshold: float = DEFAULT_THRESHOLD) -> SrmCheck:
    if len(counts) != len(weights):
        raise ValueError("one weight per variant count")
    total, weight = sum(counts), sum(w for w in weights if w > 0)
    expected = tuple(w / weight * total if w > 0 else 0.0 for w in weights)
    observed = tuple(int(c) for c in counts)
    if total == 0:
        return SrmCheck(SrmStatus.NO_UNITS, observed, expected, threshold)
    stray = [i for i, (c, w) in enumerate(zip(counts, weights)) if w <= 0 and c > 0]
    if stray:
        return SrmCheck(SrmStatus.MISMATCH, observed, expected, threshold,
                        message=f"units in zero-weight variant(s) {stray}")
    live = [(c, e) for c, e, w in zip(counts, expected, weights) if w > 0]
    if len(live) < 2:
        return SrmCheck(SrmStatus.NOT_APPLICABLE, observed, expected, threshold,
                        message="fewer than two variants with traffic")
    stat = sum((c - e) ** 2 / e for c, e in live)
    p = float(sps.chi2.sf(stat, len(live) - 1))
    status = SrmStatus.MISMATCH if p < threshold else SrmStatus.OK
    return SrmCheck(status, observed, expected, threshold, p, float(stat))
