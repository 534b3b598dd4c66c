"""A PNG of an effect over time: one panel per treatment, the cumulative effect with
its fixed-horizon interval (shaded) and its always-valid interval (dashed).

matplotlib is imported here only, through its object API (no pyplot global state),
so that a server renders plots from several threads.
"""

from __future__ import annotations

import io
import math
from datetime import UTC, datetime, timedelta

from vitrina.experiments_service.errors import NoData
from vitrina.experiments_service.results import Timeline

WIDTH_INCHES, PANEL_INCHES, DPI = 9.0, 3.0, 100


def _nan(x: float | None) -> float:
    return math.nan if x is None else x


def render_png(timeline: Timeline) -> bytes:
    from matplotlib.dates import DateFormatter, DayLocator
    from matplotlib.figure import Figure

    variants = list(dict.fromkeys(p.variant for p in timeline.points))
    if not variants or all(p.effect is None for p in timeline.points):
        raise NoData(f"experiment {timeline.experiment!r}: no day has an estimate of "
                     f"{timeline.metric!r} yet (too few units in a variant)")
    scale, unit = (100.0, "%") if timeline.relative else (1.0, "")
    fig = Figure(figsize=(WIDTH_INCHES, 0.8 + PANEL_INCHES * len(variants)), dpi=DPI,
                 layout="constrained")
    axes = fig.subplots(len(variants), 1, sharex=True, squeeze=False)[:, 0]
    level = round(100 * (1 - timeline.alpha))
    for ax, variant in zip(axes, variants):
        pts = [p for p in timeline.points if p.variant == variant]
        x = [datetime.fromtimestamp(p.day * 86_400, UTC) for p in pts]

        def col(name: str, pts: list = pts) -> list[float]:
            return [scale * _nan(getattr(p, name)) for p in pts]

        ax.axhline(0.0, color="#555555", linewidth=0.8)
        ax.fill_between(x, col("ci_low"), col("ci_high"), color="#4c72b0", alpha=0.25,
                        linewidth=0, label=f"{level}% interval (fixed horizon)")
        ax.plot(x, col("seq_low"), color="#4c72b0", linestyle="--", linewidth=1,
                label=f"{level}% always-valid interval")
        ax.plot(x, col("seq_high"), color="#4c72b0", linestyle="--", linewidth=1)
        ax.plot(x, col("effect"), color="#dd8452", marker="o", markersize=3, linewidth=1.8,
                label="effect")
        last = pts[-1]
        ax.set_title(f"{variant} vs {timeline.control}: {last.units_variant:,} vs "
                     f"{last.units_control:,} units", fontsize=10, loc="left")
        ax.set_ylabel(f"effect{' (' + unit + ')' if unit else ''}")
        ax.grid(True, alpha=0.3)
        days = pts[-1].day - pts[0].day + 1
        ax.xaxis.set_major_locator(DayLocator(interval=max(1, math.ceil(days / 8))))
        ax.xaxis.set_major_formatter(DateFormatter("%b %d"))
        ax.set_xlim(x[0] - timedelta(hours=12), x[-1] + timedelta(hours=12))
    kind = "relative" if timeline.relative else "absolute"
    fig.suptitle(f"{timeline.experiment} · {timeline.metric}: cumulative {kind} effect "
                 "by day of first exposure", fontsize=11)
    fig.legend(*axes[0].get_legend_handles_labels(), loc="outside lower center", ncols=3,
               fontsize=8, frameon=False)
    out = io.BytesIO()
    fig.savefig(out, format="png")
    return out.getvalue()
