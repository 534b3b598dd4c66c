"""Backfill job rows: create, resume, count, read (the CLI and the API read them here)."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from vitrina.errors import Conflict, NotFound
from vitrina.ids import new_id
from vitrina.storage.catalog.batch import BackfillJobRow
from vitrina.storage.catalog.db import transaction

JOBS = BackfillJobRow.__table__
STATES = ("running", "done", "failed", "cancelled")
#: a running job whose driver has not written for this long is taken as interrupted
STALL_SECONDS = 60.0
#: how often the driver writes the heartbeat between batches
HEARTBEAT_SECONDS = 5.0


class JobNotFound(NotFound):
    code = "backfill_job_not_found"


class JobRunning(Conflict):
    code = "backfill_running"


def now() -> datetime:
    return datetime.now(UTC)


def this_owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def owner_alive(owner: str | None, heartbeat_at: datetime | None, at: datetime) -> bool:
    """Whether a running job's driver still runs: its process when it is on this host,
    else a heartbeat within :data:`STALL_SECONDS`."""
    host, _, pid = (owner or "").rpartition(":")
    if host == socket.gethostname() and pid.isdigit():
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    return heartbeat_at is not None and (at - heartbeat_at).total_seconds() < STALL_SECONDS


@dataclass(frozen=True)
class JobView:
    id: str
    project: str | None
    analysers: list[str] | None
    force: bool
    engine: str
    options: dict[str, Any]
    state: str
    total: int
    done: int
    failed: int
    written: int
    left: int
    rate: float | None  # assets a second in the latest run
    eta_seconds: int | None
    stalled: bool  # running, but its driver stopped writing (killed): resume it
    error: str | None
    started_at: datetime
    updated_at: datetime
    heartbeat_at: datetime | None
    finished_at: datetime | None

    def to_dict(self) -> dict[str, Any]:
        out = dict(self.__dict__)
        for key in ("started_at", "updated_at", "heartbeat_at", "finished_at"):
            out[key] = out[key].isoformat() if out[key] else None
        return out


def view(row: Any, at: datetime | None = None) -> JobView:
    at = at or now()
    end = row.finished_at or (at if row.state == "running" else row.updated_at)
    elapsed = max(0.0, (end - row.resumed_at).total_seconds())
    progressed = row.done + row.failed - row.done_at_resume
    rate = round(progressed / elapsed, 3) if elapsed > 0 and progressed > 0 else None
    left = max(0, row.total - row.done - row.failed)
    running = row.state == "running"
    stalled = running and not owner_alive(row.owner, row.heartbeat_at, at)
    eta = round(left / rate) if running and rate and not stalled else None
    return JobView(row.id, row.project_id, row.analysers, bool(row.force), row.engine, dict(row.options or {}),
                   row.state, row.total, row.done, row.failed, row.written, left, rate, eta, stalled, row.error,
                   row.started_at, row.updated_at, row.heartbeat_at, row.finished_at)


class BackfillJobs:
    """The job rows of one catalog."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions

    def get(self, job_id: str, project: str | None = None) -> JobView:
        """The job; ``project`` set: only a job of that project (another's answers as missing)."""
        with self.sessions() as s:
            row = s.get(BackfillJobRow, job_id) if isinstance(job_id, str) and len(job_id) <= 32 else None
        if row is None or (project is not None and row.project_id != project):
            raise JobNotFound(f"no backfill job {job_id!r}: `vitrina batch jobs` lists them",
                              details={"id": str(job_id)[:64]})
        return view(row)

    def list(self, project: str | None = None, limit: int = 50) -> list[JobView]:
        """Newest first; ``project`` set: only that project's jobs."""
        q = select(BackfillJobRow).order_by(BackfillJobRow.id.desc()).limit(limit)
        if project is not None:
            q = q.where(BackfillJobRow.project_id == project)
        at = now()
        with self.sessions() as s:
            return [view(r, at) for r in s.scalars(q)]

    def create(self, *, project: str | None, analysers: list[str] | None, force: bool, engine: str,
               options: dict[str, Any], total: int) -> str:
        job_id, t = new_id(), now()
        with transaction(self.sessions) as s:
            s.add(BackfillJobRow(id=job_id, project_id=project, analysers=analysers, force=force, engine=engine,
                                 options=options, state="running", total=total, done=0, failed=0, written=0,
                                 done_at_resume=0, owner=this_owner(), started_at=t, resumed_at=t,
                                 updated_at=t, heartbeat_at=t))
        return job_id

    def interrupted(self, *, project: str | None, analysers: list[str] | None, force: bool) -> str | None:
        """A running job with these parameters whose driver is gone (a re-run adopts it);
        JobRunning if one with a live driver exists."""
        at = now()
        with self.sessions() as s:
            rows = s.scalars(select(BackfillJobRow).where(
                BackfillJobRow.state == "running", BackfillJobRow.force == force,
                BackfillJobRow.project_id.is_(None) if project is None else BackfillJobRow.project_id == project,
            ).order_by(BackfillJobRow.id.desc())).all()
        for row in rows:
            if (row.analysers or None) != (analysers or None):
                continue
            if owner_alive(row.owner, row.heartbeat_at, at):
                raise JobRunning(f"backfill {row.id} with these parameters is running ({row.owner}): wait "
                                 f"for it or stop it with `vitrina batch cancel {row.id}`", details={"id": row.id})
            return row.id
        return None

    def resume(self, job_id: str, left: int, engine: str, options: dict[str, Any]) -> JobView:
        """Take over ``job_id``: it runs again from what is stale now (``left`` assets)."""
        job = self.get(job_id)
        if job.state == "running" and not job.stalled:
            raise JobRunning(f"backfill {job_id} is running: wait for it or `vitrina batch cancel {job_id}`",
                             details={"id": job_id})
        t = now()
        with transaction(self.sessions) as s:
            s.execute(update(JOBS).where(JOBS.c.id == job_id).values(
                state="running", total=JOBS.c.done + left, failed=0, done_at_resume=JOBS.c.done,
                engine=engine, options=options, owner=this_owner(), error=None, resumed_at=t, updated_at=t,
                heartbeat_at=t, finished_at=None))
        return self.get(job_id)

    def advance(self, s: Session, job_id: str, *, done: int, failed: int, written: int) -> str:
        """Add one batch's counts (in the caller's transaction, with its results); the
        job's state after (``cancelled`` when someone cancelled it meanwhile)."""
        t = now()
        s.execute(update(JOBS).where(JOBS.c.id == job_id).values(
            done=JOBS.c.done + done, failed=JOBS.c.failed + failed, written=JOBS.c.written + written,
            updated_at=t, heartbeat_at=t))
        return s.scalar(select(JOBS.c.state).where(JOBS.c.id == job_id))

    def heartbeat(self, job_id: str) -> None:
        with transaction(self.sessions) as s:
            s.execute(update(JOBS).where(JOBS.c.id == job_id, JOBS.c.state == "running")
                      .values(heartbeat_at=now()))

    def finish(self, job_id: str, state: str, error: str | None = None) -> None:
        t = now()
        with transaction(self.sessions) as s:
            s.execute(update(JOBS).where(JOBS.c.id == job_id).values(
                state=state, error=error, updated_at=t, finished_at=t))

    def cancel(self, job_id: str, project: str | None = None) -> JobView:
        """Ask a running job to stop (its driver stops after the batch in hand)."""
        job = self.get(job_id, project)
        if job.state != "running":
            return job
        t = now()
        with transaction(self.sessions) as s:
            s.execute(update(JOBS).where(JOBS.c.id == job_id, JOBS.c.state == "running").values(
                state="cancelled", updated_at=t, finished_at=t))
        return self.get(job_id)
