"""Errors of the experimentation service; bad definitions and logs reuse the
library's ``invalid_experiment`` / ``invalid_metric`` / ``invalid_logs``."""

from __future__ import annotations

from vitrina.errors import Conflict, NotFound, PayloadTooLarge


class ExperimentNotFound(NotFound):
    code = "not_found"


class ExperimentExists(Conflict):
    code = "experiment_exists"


class RevisionMismatch(Conflict):
    """An update was based on an older revision than the stored one."""

    code = "revision_mismatch"


class NoAnalysisPlan(Conflict):
    code = "no_analysis_plan"


class NoData(Conflict):
    """Nothing to plot or analyse over time yet (no exposures)."""

    code = "no_data"


class BatchTooLarge(PayloadTooLarge):
    code = "batch_too_large"
