"""Recommender monitoring (decision 033): the figures of served lists per model and
variant (``report``, over the SQL in ``queries``), their statistics (``stats``) and
the /metrics collector (``collector``)."""

from vitrina.recs.monitoring.collector import GAUGES, MonitorCollector, projects
from vitrina.recs.monitoring.report import (
    FEATURES,
    WINDOW_SECONDS,
    Drift,
    Report,
    VariantStats,
    Window,
    monitor,
)
from vitrina.recs.monitoring.stats import histogram_quantile, latency_quantiles, psi, reading

__all__ = [
    "FEATURES", "GAUGES", "WINDOW_SECONDS", "Drift", "MonitorCollector", "Report",
    "VariantStats", "Window", "histogram_quantile", "latency_quantiles", "monitor", "projects",
    "psi", "reading",
]
