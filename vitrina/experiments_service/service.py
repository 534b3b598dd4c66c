"""The experimentation service: what the API and the CLI call, over the catalog.

Inputs arrive as parsed JSON (dicts and lists) and leave as the library's objects;
every write is one transaction, committed before the caller hears back.

Every method takes the caller's project first and reads and writes that project's
rows only: the same key may name two unrelated experiments in two projects, and
another project's experiment answers ``404 not_found`` exactly like a missing one.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from vitrina.errors import InvalidInput
from vitrina.experiments import Assigner, Assignment, Experiment, ExperimentResult
from vitrina.experiments_service import logs
from vitrina.experiments_service.plot import render_png
from vitrina.experiments_service.repository import (
    ExperimentRecord,
    ExperimentRepository,
    not_found,
    parse_definition,
    parse_plan,
)
from vitrina.experiments_service.results import Timeline, effect_timeline, experiment_result
from vitrina.storage.catalog.db import transaction
from vitrina.storage.catalog.experiments import UNIT_LENGTH, ExperimentRow
from vitrina.webhooks import guardrails_judged

MAX_ATTRIBUTES = 64


class AssignerCache:
    """Compiled assigners by (project, key, revision): a new revision compiles afresh."""

    def __init__(self, size: int = 256) -> None:
        self._size, self._lock = size, threading.Lock()
        self._items: OrderedDict[tuple[str, str, int], Assigner] = OrderedDict()

    def get(self, project: str, key: str, revision: int,
            definition: dict[str, Any]) -> Assigner:
        name = (project, key, revision)
        with self._lock:
            found = self._items.get(name)
            if found is not None:
                self._items.move_to_end(name)
                return found
        assigner = Assigner(Experiment.from_dict(definition))
        with self._lock:
            self._items[name] = assigner
            while len(self._items) > self._size:
                self._items.popitem(last=False)
        return assigner


def assignment_dict(unit_id: str, answer: Assignment) -> dict[str, Any]:
    """The JSON of an answer, with the unit it is for."""
    return {"experiment": answer.experiment, "unit_id": unit_id, "variant": answer.variant,
            "in_experiment": answer.in_experiment, "reason": answer.reason.label,
            "value": answer.value}


def _definition(data: Any, key: str | None = None) -> Experiment:
    if key is not None and isinstance(data, dict) and "key" not in data:
        data = {**data, "key": key}  # a file for `update KEY FILE` may leave the key out
    return parse_definition(data)


class ExperimentService:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions
        self.repository = ExperimentRepository(sessions)
        self._assigners = AssignerCache()

    # --- definitions ----------------------------------------------------------------
    def create(self, project: str, definition: Any, plan: Any = None) -> ExperimentRecord:
        return self.repository.create(project, _definition(definition), parse_plan(plan))

    def update(self, project: str, key: str, definition: Any, plan: Any = None,
               revision: int | None = None) -> ExperimentRecord:
        return self.repository.update(project, key, _definition(definition, key),
                                      parse_plan(plan), revision)

    def get(self, project: str, key: str) -> ExperimentRecord:
        return self.repository.get(project, key)

    def list(self, project: str, status: str | None = None, limit: int = 100,
             after: str | None = None) -> list[ExperimentRecord]:
        return self.repository.list(project, status, limit, after)

    def stop(self, project: str, key: str) -> ExperimentRecord:
        return self.repository.stop(project, key)

    def kill(self, project: str, key: str) -> ExperimentRecord:
        return self.repository.kill(project, key)

    # --- assignment -----------------------------------------------------------------
    def assign(self, project: str, key: str, unit_id: str,
               attributes: Mapping[str, Any] | None = None, log_exposure: bool = False,
               now: datetime | None = None) -> Assignment:
        """The unit's variant; with ``log_exposure``, its exposure is committed first
        (only when it is in the experiment: others are not in the analysis)."""
        if not isinstance(unit_id, str) or not 0 < len(unit_id) <= UNIT_LENGTH:
            raise InvalidInput(f"unit_id must be a string of 1-{UNIT_LENGTH} characters")
        if attributes is not None and (not isinstance(attributes, Mapping)
                                       or len(attributes) > MAX_ATTRIBUTES):
            raise InvalidInput(f"attributes must be an object of at most {MAX_ATTRIBUTES} entries")
        with self.sessions() as s:
            row = s.execute(select(ExperimentRow.revision, ExperimentRow.definition)
                            .where(ExperimentRow.project_id == project,
                                   ExperimentRow.key == key)).first()
        if row is None:
            raise not_found(key)
        answer = self._assigners.get(project, key, row.revision, row.definition).assign(
            unit_id, attributes, now)
        if log_exposure and answer.in_experiment:
            at = now.timestamp() if now is not None else time.time()
            with transaction(self.sessions) as s:
                logs.write_exposures(s, project,
                                     [logs.Exposure(key, unit_id, answer.variant, at)])
        return answer

    # --- logs -----------------------------------------------------------------------
    def log_exposures(self, project: str, items: Any) -> int:
        exposures = logs.parse_exposures(items, time.time())
        with transaction(self.sessions) as s:
            return logs.write_exposures(s, project, exposures)

    def log_events(self, project: str, items: Any) -> logs.Logged:
        """Store a batch of events, all or nothing: the number stored, with
        ``.duplicates`` the number skipped because their id was already stored."""
        events = logs.parse_events(items, time.time())
        with transaction(self.sessions) as s:
            return logs.write_events(s, project, events)

    # --- results --------------------------------------------------------------------
    def result(self, project: str, key: str, end: float | None = None) -> ExperimentResult:
        if end is not None and not math.isfinite(end):
            raise InvalidInput("end must be a finite epoch time", details={"end": str(end)})
        record = self.get(project, key)
        with self.sessions() as s:
            result = experiment_result(s, record, end)
        guardrails_judged(self.sessions, project, key, record.revision, result.guardrails)
        return result

    def timeline(self, project: str, key: str, metric: str | None = None) -> Timeline:
        record = self.get(project, key)
        with self.sessions() as s:
            return effect_timeline(s, record, metric)

    def plot(self, project: str, key: str, metric: str | None = None) -> bytes:
        return render_png(self.timeline(project, key, metric))
