"""Errors of the experiments package (all 4xx: the caller's definition or data)."""

from __future__ import annotations

from vitrina.errors import InvalidInput


class InvalidExperiment(InvalidInput):
    """An experiment, layer, holdout or rollout definition that cannot be used."""

    code = "invalid_experiment"


class InvalidMetric(InvalidInput):
    """A metric definition or an analysis plan that cannot be used."""

    code = "invalid_metric"


class InvalidLogs(InvalidInput):
    """Logged data (exposures, events, bandit feedback) of the wrong shape or range."""

    code = "invalid_logs"
