"""Small charts drawn on the server: coordinates for inline SVG (the templates draw
them with the macros of ``fragments/charts.html``), so a page needs no chart script and
reads the same with scripts off. Every chart has a fixed view box and scales with CSS."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

#: the effect plot's view box, and its margin for the labels of the axis's ends
EFFECT_WIDTH, EFFECT_HEIGHT, EFFECT_MARGIN = 240, 44, 30
#: a bar chart's view box width, the width kept for labels, and one bar's row height
BAR_WIDTH, BAR_LABEL, BAR_ROW = 320, 120, 22


@dataclass(frozen=True)
class EffectPlot:
    """One effect and its interval on an axis that always shows 0 (no effect)."""

    low: float  # the axis's ends, in the effect's units
    high: float
    zero_x: float
    effect_x: float
    ci_x: tuple[float, float] | None  # None without an interval

    width: int = EFFECT_WIDTH
    height: int = EFFECT_HEIGHT


def effect_plot(effect: float | None, ci_low: float | None, ci_high: float | None) -> EffectPlot | None:
    """The plot of ``effect`` in [ci_low, ci_high]; None when there is no estimate."""
    if effect is None or not math.isfinite(effect):
        return None
    ends = [0.0, effect] + [v for v in (ci_low, ci_high) if v is not None and math.isfinite(v)]
    span = max(ends) - min(ends) or max(abs(effect), 1.0)
    low, high = min(ends) - span * 0.1, max(ends) + span * 0.1

    def x(v: float) -> float:
        return round(EFFECT_MARGIN + (v - low) / (high - low) * (EFFECT_WIDTH - 2 * EFFECT_MARGIN), 2)

    has_ci = ci_low is not None and ci_high is not None and math.isfinite(ci_low) and math.isfinite(ci_high)
    return EffectPlot(low, high, x(0.0), x(effect), (x(ci_low), x(ci_high)) if has_ci else None)


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    y: float
    length: float  # in view-box units, from the label column
    ci: tuple[float, float] | None  # an interval's ends, in view-box x

    @property
    def text_x(self) -> float:
        """Where the value is written: past the bar and its interval."""
        return max(BAR_LABEL + self.length, self.ci[1] if self.ci else 0.0) + 4


@dataclass(frozen=True)
class BarChart:
    bars: tuple[Bar, ...]
    width: int
    height: int
    label_width: int


def bar_chart(rows: Sequence[tuple[str, float, tuple[float, float] | None]],
              top: float | None = None) -> BarChart:
    """Horizontal bars of (label, value, interval or None), scaled to ``top`` (default:
    the largest value or interval end); negative values draw as empty bars."""
    finite = [v for _, value, ci in rows for v in (value, *(ci or ())) if math.isfinite(v)]
    top = top if top is not None else max(finite, default=0.0)
    plot = BAR_WIDTH - BAR_LABEL - 40  # room on the right for the value's text

    def length(v: float) -> float:
        return round(max(0.0, min(v, top)) / top * plot, 2) if top > 0 and math.isfinite(v) else 0.0

    bars = tuple(Bar(label, value, i * BAR_ROW, length(value),
                     None if ci is None else (BAR_LABEL + length(ci[0]), BAR_LABEL + length(ci[1])))
                 for i, (label, value, ci) in enumerate(rows))
    return BarChart(bars, BAR_WIDTH, max(1, len(rows)) * BAR_ROW, BAR_LABEL)
