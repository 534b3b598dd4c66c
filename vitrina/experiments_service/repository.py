"""Experiment definitions in the catalog: create, read, list, change.

Every method names the caller's project and sees only that project's experiments:
keys are unique per project, another project's key answers exactly as a missing one
(``404 not_found``), and layers are checked among the project's own experiments.
Every definition and plan goes through the library's ``from_dict`` (unknown fields
and bad values are refused) before it is stored, and every write re-checks that no
two running experiments share layer buckets. Writes of definitions are serialised
(SQLite: ``BEGIN IMMEDIATE``; PostgreSQL: a transaction-scoped advisory lock per
project), so two concurrent creates cannot both pass the layer check.
"""

from __future__ import annotations

import dataclasses
import math
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session, sessionmaker

from vitrina.errors import InvalidInput, NotFound
from vitrina.experiments import AnalysisPlan, Experiment, Status, check_layer
from vitrina.experiments.errors import InvalidExperiment, InvalidMetric
from vitrina.experiments_service.errors import (
    ExperimentExists,
    ExperimentNotFound,
    RevisionMismatch,
)
from vitrina.storage.catalog.db import transaction
from vitrina.storage.catalog.experiments import ExperimentRow
from vitrina.storage.catalog.models import utcnow
from vitrina.storage.catalog.projects import ProjectRow

#: first pg_advisory_xact_lock key of definition writes ("vitr"); the second is the project's
_LOCK = 0x76697472


@dataclass(frozen=True)
class ExperimentRecord:
    project_id: str
    experiment: Experiment
    plan: AnalysisPlan | None
    revision: int
    created_at: datetime
    updated_at: datetime

    @property
    def key(self) -> str:
        return self.experiment.key

    def to_dict(self) -> dict[str, Any]:
        e = self.experiment
        return {"key": e.key, "status": e.status.value, "killed": e.killed,
                "revision": self.revision, "definition": e.to_dict(),
                "plan": None if self.plan is None else self.plan.to_dict(),
                "created_at": self.created_at.isoformat(),
                "updated_at": self.updated_at.isoformat()}


def parse_definition(data: Any) -> Experiment:
    """An :class:`Experiment` from JSON; every problem is an ``invalid_experiment``."""
    try:
        return Experiment.from_dict(data)
    except InvalidExperiment:
        raise
    except InvalidInput as exc:
        raise InvalidExperiment(exc.message, details=exc.details) from None
    except (TypeError, ValueError) as exc:  # e.g. a malformed ISO time in a rollout
        raise InvalidExperiment(f"Experiment: {exc}") from None


def parse_plan(data: Any) -> AnalysisPlan | None:
    """An :class:`AnalysisPlan` from JSON (``None`` stays ``None``: flags need none)."""
    if data is None:
        return None
    try:
        plan = AnalysisPlan.from_dict(data)
    except InvalidMetric:
        raise
    except InvalidInput as exc:
        raise InvalidMetric(exc.message, details=exc.details) from None
    except (TypeError, ValueError) as exc:
        raise InvalidMetric(f"AnalysisPlan: {exc}") from None
    # JSON null reads as NaN for plain floats; NaN would silently pass every comparison
    numbers = [plan.sequential_tuning, plan.srm_threshold, *(g.tolerance for g in plan.guardrails)]
    if plan.prior is not None:
        numbers += [plan.prior.mean, plan.prior.variance]
    if not all(math.isfinite(x) for x in numbers):
        raise InvalidMetric("sequential_tuning, srm_threshold, the prior and guardrail "
                            "tolerances must be finite numbers")
    return plan


def not_found(key: str) -> ExperimentNotFound:
    """The one answer for a key that is missing or another project's (no oracle)."""
    return ExperimentNotFound(f"no experiment {key[:128]!r}", details={"key": key[:128]})


def _record(row: ExperimentRow) -> ExperimentRecord:
    return ExperimentRecord(row.project_id, Experiment.from_dict(row.definition),
                            None if row.plan is None else AnalysisPlan.from_dict(row.plan),
                            row.revision, row.created_at, row.updated_at)


def _fill(row: ExperimentRow, experiment: Experiment, plan: AnalysisPlan | None) -> None:
    row.definition = experiment.to_dict()
    row.plan = None if plan is None else plan.to_dict()
    row.status = experiment.status.value
    row.killed = experiment.killed


class ExperimentRepository:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions

    def get(self, project: str, key: str) -> ExperimentRecord:
        with self.sessions() as s:
            row = s.get(ExperimentRow, (project, key))
            if row is None:
                raise not_found(key)
            return _record(row)

    def list(self, project: str, status: str | None = None, limit: int = 100,
             after: str | None = None) -> list[ExperimentRecord]:
        """The project's experiments by key; pass the last key back as ``after`` for the
        next page."""
        query = (select(ExperimentRow).where(ExperimentRow.project_id == project)
                 .order_by(ExperimentRow.key).limit(limit))
        if status is not None:
            query = query.where(ExperimentRow.status == status)
        if after is not None:
            query = query.where(ExperimentRow.key > after)
        with self.sessions() as s:
            return [_record(r) for r in s.scalars(query)]

    def create(self, project: str, experiment: Experiment,
               plan: AnalysisPlan | None) -> ExperimentRecord:
        with transaction(self.sessions) as s:
            self._lock(s, project)
            check_project(s, project)
            if s.get(ExperimentRow, (project, experiment.key)) is not None:
                raise ExperimentExists(f"experiment {experiment.key!r} exists: update it instead",
                                       details={"key": experiment.key})
            self._check_layers(s, project, experiment)
            now = utcnow()
            row = ExperimentRow(project_id=project, key=experiment.key, revision=1,
                                created_at=now, updated_at=now)
            _fill(row, experiment, plan)
            s.add(row)
            s.flush()
            return _record(row)

    def update(self, project: str, key: str, experiment: Experiment, plan: AnalysisPlan | None,
               expected_revision: int | None = None) -> ExperimentRecord:
        if experiment.key != key:
            raise InvalidExperiment(f"the definition's key {experiment.key!r} is not {key!r}; "
                                    "keys cannot change")
        return self._change(project, key, lambda _: (experiment, plan), expected_revision)

    def stop(self, project: str, key: str) -> ExperimentRecord:
        return self._change(project, key, lambda r: (dataclasses.replace(
            r.experiment, status=Status.STOPPED), r.plan))

    def kill(self, project: str, key: str) -> ExperimentRecord:
        return self._change(project, key, lambda r: (dataclasses.replace(
            r.experiment, killed=True), r.plan))

    def _change(self, project: str, key: str,
                change: Callable[[ExperimentRecord], tuple[Experiment, AnalysisPlan | None]],
                expected_revision: int | None = None) -> ExperimentRecord:
        with transaction(self.sessions) as s:
            self._lock(s, project)
            row = s.get(ExperimentRow, (project, key))
            if row is None:
                raise not_found(key)
            if expected_revision is not None and expected_revision != row.revision:
                raise RevisionMismatch(
                    f"experiment {key!r} is at revision {row.revision}, not {expected_revision}: "
                    "read it again and reapply the change",
                    details={"revision": row.revision})
            current = _record(row)
            experiment, plan = change(current)
            if experiment == current.experiment and plan == current.plan:
                return current  # nothing changed: no new revision
            self._check_layers(s, project, experiment)
            _fill(row, experiment, plan)
            row.revision += 1
            row.updated_at = utcnow()
            s.flush()
            return _record(row)

    @staticmethod
    def _lock(s: Session, project: str) -> None:
        """Serialise the project's definition writes (SQLite's BEGIN IMMEDIATE already
        serialises every write)."""
        if s.get_bind().dialect.name == "postgresql":
            s.execute(text("SELECT pg_advisory_xact_lock(:k, :p)"),
                      {"k": _LOCK, "p": _project_lock(project)})

    @staticmethod
    def _check_layers(s: Session, project: str, experiment: Experiment) -> None:
        if experiment.layer is None or experiment.status != Status.RUNNING:
            return
        query = select(ExperimentRow.definition).where(
            ExperimentRow.project_id == project, ExperimentRow.status == Status.RUNNING.value,
            ExperimentRow.key != experiment.key)
        others = [Experiment.from_dict(d) for d in s.scalars(query)]
        check_layer([experiment, *(o for o in others if o.layer is not None)])


def _project_lock(project: str) -> int:
    """A stable signed 32-bit number for the project (the advisory lock's second key)."""
    n = zlib.crc32(project.encode())
    return n - (1 << 32) if n >= 1 << 31 else n


def check_project(s: Session, project: str) -> None:
    """Writes name a project that exists (the API's callers always do; a typo in the
    CLI's ``--project`` gets this instead of a constraint error)."""
    if s.get(ProjectRow, project) is None:
        raise NotFound(f"no project {project[:64]!r}", details={"project": project[:64]})
