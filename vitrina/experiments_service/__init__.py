"""The experimentation service: experiment definitions, exposures and events in the
catalog, assignment, results and plots, for the API (``/v1/experiments``) and the CLI
(``vitrina exp``). The statistics live in the pure library ``vitrina.experiments``.
Every call names the caller's project and sees only that project's rows.

    service = ExperimentService(runtime.sessions)
    service.create("default", {"key": "hero", "variants": [{"key": "control"}, {"key": "b"}]},
                   {"metrics": [{"name": "buyers", "kind": "proportion", "event": "buy"}]})
    service.assign("default", "hero", "user-42", log_exposure=True).variant
    service.log_events("default", [{"unit_id": "user-42", "event": "buy", "value": 12.5}])
    service.result("default", "hero").to_dict()
"""

from vitrina.experiments_service.logs import MAX_BATCH, Event, Exposure
from vitrina.experiments_service.repository import ExperimentRecord
from vitrina.experiments_service.results import Timeline, TimelinePoint
from vitrina.experiments_service.service import ExperimentService

__all__ = ["MAX_BATCH", "Event", "ExperimentRecord", "ExperimentService", "Exposure",
           "Timeline", "TimelinePoint"]
