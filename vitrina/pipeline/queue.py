"""The job queue is the catalog: workers claim step runs with leases.

A claim is one UPDATE ... RETURNING over the claimable rows (PostgreSQL adds
``FOR UPDATE SKIP LOCKED`` so claimers never wait on each other; SQLite serialises
writers). A claimed run carries a lease that the worker extends with heartbeats;
when a worker dies its lease runs out and the run becomes claimable again. Results
are written in the transaction that marks the run done, and only by the worker that
still holds the lease, so a step's rows are written exactly once.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from vitrina.pipeline import steps as step_registry
from vitrina.pipeline.steps import StepResult
from vitrina.storage.catalog.db import transaction
from vitrina.storage.catalog.models import Asset, Derivative, Signal, StepRun


def now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Claim:
    run_id: int
    asset_id: str
    step: str
    attempts: int
    worker_id: str
    claimed_at: datetime


@dataclass(frozen=True)
class QueuePolicy:
    lease_seconds: float = 30.0
    max_attempts: int = 5
    retry_base_seconds: float = 2.0

    def backoff(self, attempts: int) -> timedelta:
        base = self.retry_base_seconds * 2 ** max(attempts - 1, 0)
        return timedelta(seconds=base * random.uniform(0.75, 1.25))  # jitter spreads retries


def enqueue(session: Session, asset_id: str, kind: str, done: frozenset[str] = frozenset()) -> None:
    """Create the asset's DAG: runs whose prerequisites are all ``done`` (steps whose
    results the caller recorded already) are claimable at once."""
    t = now()
    for step in step_registry.steps_for(kind):
        if step.name in done:
            state = "done"
        else:
            state = "pending" if set(step.requires) <= done else "waiting"
        session.add(
            StepRun(asset_id=asset_id, step=step.name, version=step.version, state=state,
                    finished_at=t if state == "done" else None)
        )


class Queue:
    def __init__(self, sessions: sessionmaker[Session], policy: QueuePolicy) -> None:
        self.sessions = sessions
        self.policy = policy

    def claim(self, worker_id: str, limit: int = 1) -> list[Claim]:
        t = now()
        claimable = and_(
            or_(
                and_(StepRun.state == "pending", StepRun.next_attempt_at <= t),
                and_(StepRun.state == "running", StepRun.lease_until < t),
            ),
            StepRun.attempts < self.policy.max_attempts,
        )
        ids = (
            select(StepRun.id)
            .where(claimable)
            .order_by(StepRun.next_attempt_at, StepRun.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        stmt = (
            update(StepRun)
            .where(StepRun.id.in_(ids.scalar_subquery()))
            .values(
                state="running",
                attempts=StepRun.attempts + 1,
                worker_id=worker_id,
                lease_until=t + timedelta(seconds=self.policy.lease_seconds),
                heartbeat_at=t,
                started_at=t,
            )
            .returning(StepRun.id, StepRun.asset_id, StepRun.step, StepRun.attempts)
            .execution_options(synchronize_session=False)
        )
        with transaction(self.sessions) as s:
            rows = s.execute(stmt).all()
            if rows:
                s.execute(
                    update(Asset)
                    .where(Asset.id.in_({r.asset_id for r in rows}), Asset.status == "pending")
                    .values(status="processing")
                    .execution_options(synchronize_session=False)
                )
        return [Claim(r.id, r.asset_id, r.step, r.attempts, worker_id, t) for r in rows]

    def heartbeat(self, claim: Claim) -> bool:
        """Extend the lease; False means the lease was lost and the work must be dropped."""
        t = now()
        with transaction(self.sessions) as s:
            n = s.execute(
                self._owned(claim).values(
                    lease_until=t + timedelta(seconds=self.policy.lease_seconds), heartbeat_at=t
                )
            ).rowcount
        return n == 1

    def complete(self, claim: Claim, version: str, result: StepResult) -> tuple[bool, Claim | None]:
        """Record the result; returns (recorded, next claim).

        When the step unblocks another step of the same asset, this worker claims it in
        the same transaction: the asset finishes sooner, its original is still in the
        page cache, and a round trip to the catalog is saved.
        """
        t = now()
        with transaction(self.sessions) as s:
            done = s.execute(self._owned(claim).values(
                state="done", finished_at=t, error=None, version=version,
                duration_ms=(t - claim.claimed_at).total_seconds() * 1000)).rowcount
            if not done:
                return False, None  # the lease went to another worker: its result wins
            self._write_result(s, claim, result)
            promoted = self._promote_dependents(s, claim.asset_id)
            self._refresh_asset_status(s, claim.asset_id)
            follow = self._claim_run(s, promoted[0], claim.worker_id, t) if promoted else None
        return True, follow

    def fail(self, claim: Claim, error: str, *, permanent: bool = False) -> None:
        t = now()
        final = permanent or claim.attempts >= self.policy.max_attempts
        values = dict(error=error[:4000], finished_at=t, lease_until=None)
        if final:
            values["state"] = "failed"
        else:
            values.update(state="pending", next_attempt_at=t + self.policy.backoff(claim.attempts))
        with transaction(self.sessions) as s:
            if s.execute(self._owned(claim).values(**values)).rowcount and final:
                self._refresh_asset_status(s, claim.asset_id)

    def fail_abandoned(self) -> int:
        """Runs whose workers died on every attempt: fail them so the asset says so."""
        t = now()
        with transaction(self.sessions) as s:
            rows = s.execute(
                update(StepRun)
                .where(StepRun.state == "running", StepRun.lease_until < t,
                       StepRun.attempts >= self.policy.max_attempts)
                .values(state="failed", error="worker lost its lease on every attempt")
                .returning(StepRun.asset_id)
                .execution_options(synchronize_session=False)
            ).all()
            for asset_id in {r.asset_id for r in rows}:
                self._refresh_asset_status(s, asset_id)
        return len(rows)

    def depth(self) -> dict[str, int]:
        with self.sessions() as s:
            return dict(s.execute(select(StepRun.state, func.count()).group_by(StepRun.state)).all())

    # --- internals -------------------------------------------------------------------
    def _owned(self, claim: Claim):
        return (
            update(StepRun)
            .where(
                StepRun.id == claim.run_id,
                StepRun.state == "running",
                StepRun.worker_id == claim.worker_id,
                StepRun.attempts == claim.attempts,
            )
            .execution_options(synchronize_session=False)
        )

    @staticmethod
    def _write_result(s: Session, claim: Claim, result: StepResult) -> None:
        if result.asset_updates:
            s.execute(update(Asset).where(Asset.id == claim.asset_id).values(**result.asset_updates)
                      .execution_options(synchronize_session=False))
        if result.derivatives:
            # The step's set of derivatives replaces what it made before (re-runs, backfills).
            s.execute(delete(Derivative).where(Derivative.asset_id == claim.asset_id,
                                               Derivative.producer == claim.step))
            step = step_registry.get(claim.step)
            for d in result.derivatives:
                s.add(Derivative(asset_id=claim.asset_id, width=d.width, height=d.height, format=d.format,
                                 mime=d.mime, size_bytes=d.size_bytes, blob_key=d.blob_key,
                                 producer=claim.step, version=step.version))
        if result.signals:
            s.execute(delete(Signal).where(Signal.asset_id == claim.asset_id,
                                           Signal.name.in_([sig.name for sig in result.signals])))
            s.add_all(Signal(asset_id=claim.asset_id, name=sig.name, producer=sig.producer,
                             version=sig.version, value=sig.value) for sig in result.signals)

    @staticmethod
    def _promote_dependents(s: Session, asset_id: str) -> list[int]:
        """Waiting runs whose prerequisites are all done become pending; their ids."""
        rows = s.execute(select(StepRun.id, StepRun.step, StepRun.state)
                         .where(StepRun.asset_id == asset_id).order_by(StepRun.id)).all()
        states = {r.step: r.state for r in rows}
        ready = [
            r.id for r in rows
            if r.state == "waiting"
            and all(states.get(dep) == "done" for dep in step_registry.get(r.step).requires)
        ]
        if ready:
            s.execute(update(StepRun).where(StepRun.id.in_(ready))
                      .values(state="pending", next_attempt_at=now())
                      .execution_options(synchronize_session=False))
        return ready

    def _claim_run(self, s: Session, run_id: int, worker_id: str, t: datetime) -> Claim | None:
        row = s.execute(
            update(StepRun).where(StepRun.id == run_id, StepRun.state == "pending")
            .values(state="running", attempts=StepRun.attempts + 1, worker_id=worker_id,
                    lease_until=t + timedelta(seconds=self.policy.lease_seconds), heartbeat_at=t,
                    started_at=t)
            .returning(StepRun.id, StepRun.asset_id, StepRun.step, StepRun.attempts)
            .execution_options(synchronize_session=False)
        ).first()
        return Claim(row.id, row.asset_id, row.step, row.attempts, worker_id, t) if row else None

    @staticmethod
    def _refresh_asset_status(s: Session, asset_id: str) -> None:
        states = set(s.scalars(select(StepRun.state).where(StepRun.asset_id == asset_id)).all())
        if "failed" in states:
            status, error = "failed", s.scalar(
                select(StepRun.step + ": " + func.coalesce(StepRun.error, ""))
                .where(StepRun.asset_id == asset_id, StepRun.state == "failed").limit(1))
        elif states <= {"done"}:
            status, error = "ready", None
        else:
            status, error = "processing", None
        s.execute(update(Asset).where(Asset.id == asset_id).values(status=status, error=error)
                  .execution_options(synchronize_session=False))
