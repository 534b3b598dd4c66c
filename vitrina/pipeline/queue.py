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
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Row, and_, bindparam, delete, func, insert, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from vitrina.assets.states import AssetStatus, StepState
from vitrina.kinds.image.inputs import TEXT_SIGNALS, TEXT_STEP
from vitrina.pipeline.dag import Pipelines
from vitrina.pipeline.steps import SignalOut, Step, StepResult
from vitrina.storage.catalog.db import transaction
from vitrina.storage.catalog.models import Asset, Derivative, Original, Signal, StepRun, Tag
from vitrina.webhooks import asset_settled

# The hot path speaks SQL Core to the tables: the ORM's per-statement bookkeeping cost
# more than the SQL itself (several ms per image against ~1 ms of SQLite work).
RUNS, ASSETS, ORIGINALS = StepRun.__table__, Asset.__table__, Original.__table__
DERIVATIVES, SIGNALS, TAGS = Derivative.__table__, Signal.__table__, Tag.__table__

# Statements every step runs are built once, with bound parameters (``p_*``): building
# and keying a statement cost more Python than SQLite spends running it.
_OWNED = update(RUNS).where(RUNS.c.id == bindparam("p_run"), RUNS.c.state == StepState.RUNNING,
                            RUNS.c.worker_id == bindparam("p_worker"),
                            RUNS.c.attempts == bindparam("p_attempts"))
_FINISH = _OWNED.values(state=StepState.DONE, finished_at=bindparam("p_t"), error=None, error_code=None,
                        version=bindparam("p_version"), duration_ms=bindparam("p_ms"),
                        progress=1.0, progress_at=bindparam("p_t"))
_EXTEND = _OWNED.values(lease_until=bindparam("p_lease"), heartbeat_at=bindparam("p_t"))
#: a heartbeat that also records the step's latest progress (a report is a sign of life too)
_EXTEND_AND_REPORT = _EXTEND.values(progress=bindparam("p_progress"), progress_at=bindparam("p_t"))
_TAKE = (
    update(RUNS)
    .values(state=StepState.RUNNING, attempts=RUNS.c.attempts + 1, worker_id=bindparam("p_worker"),
            lease_until=bindparam("p_lease"), heartbeat_at=bindparam("p_t"), started_at=bindparam("p_t"),
            progress=None, progress_at=None)  # a new attempt starts from nothing done
    .returning(RUNS.c.id, RUNS.c.asset_id, RUNS.c.step, RUNS.c.attempts)
)
_CLAIMABLE = (
    select(RUNS.c.id)
    .where(
        or_(
            and_(RUNS.c.state == StepState.PENDING, RUNS.c.next_attempt_at <= bindparam("p_t")),
            and_(RUNS.c.state == StepState.RUNNING, RUNS.c.lease_until < bindparam("p_t")),
        ),
        RUNS.c.attempts < bindparam("p_max_attempts"),
    )
    .order_by(RUNS.c.next_attempt_at, RUNS.c.id)
    .limit(bindparam("p_limit"))
    .with_for_update(skip_locked=True)  # PostgreSQL: claimers pass each other's rows by
)
_TAKE_CLAIMABLE = _TAKE.where(RUNS.c.id.in_(_CLAIMABLE.scalar_subquery()))
_TAKE_UNBLOCKED = _TAKE.where(RUNS.c.id == bindparam("p_run"), RUNS.c.state == StepState.WAITING)
_RUNS_OF = (select(RUNS.c.id, RUNS.c.step, RUNS.c.state, RUNS.c.error, RUNS.c.error_code)
            .where(RUNS.c.asset_id == bindparam("p_asset")).order_by(RUNS.c.id))
_SET_STATUS = (update(ASSETS).where(ASSETS.c.id == bindparam("p_asset"))
               .values(status=bindparam("p_status"), error=bindparam("p_error")))
#: a final status is news (a webhook event) only when it changes
_CHANGE_STATUS = _SET_STATUS.where(ASSETS.c.status != bindparam("p_status"))
_DROP_DERIVATIVES = delete(DERIVATIVES).where(DERIVATIVES.c.asset_id == bindparam("p_asset"),
                                              DERIVATIVES.c.producer == bindparam("p_producer"))
_DROP_SIGNALS = delete(SIGNALS).where(SIGNALS.c.asset_id == bindparam("p_asset"),
                                      SIGNALS.c.name.in_(bindparam("p_names", expanding=True)))
_ADD_RUNS, _ADD_DERIVATIVES, _ADD_SIGNALS = insert(RUNS), insert(DERIVATIVES), insert(SIGNALS)
#: a signal carrying ``tags`` ([{"label", "score"}, ...]) owns the asset's tag rows whose
#: source is the signal's name: they are replaced with it (decision 025)
_DROP_TAGS = delete(TAGS).where(TAGS.c.asset_id == bindparam("p_asset"),
                                TAGS.c.source.in_(bindparam("p_sources", expanding=True)))
_ADD_TAGS = insert(TAGS)


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


def enqueue(session: Session, asset_id: str, steps: list[Step], done: dict[str, float] | None = None) -> None:
    """Create the asset's DAG from its kind's ``steps``. ``done`` maps steps whose
    results the caller recorded already to how long they took (ms); runs whose
    prerequisites are all done are claimable at once. An asset with nothing left to do
    is ready at once."""
    done = done or {}
    t = now()
    runs = []
    for step in steps:
        run = {"asset_id": asset_id, "step": step.name, "version": step.version, "next_attempt_at": t}
        if step.name in done:
            run |= {"state": StepState.DONE, "attempts": 1, "finished_at": t, "duration_ms": round(done[step.name], 3),
                    "progress": 1.0}
        else:
            state = StepState.PENDING if set(step.requires) <= done.keys() else StepState.WAITING
            run |= {"state": state, "attempts": 0, "finished_at": None, "duration_ms": None, "progress": None}
        runs.append(run)
    if runs:
        session.execute(_ADD_RUNS, runs)
    if all(step.name in done for step in steps):
        session.execute(_SET_STATUS, {"p_asset": asset_id, "p_status": AssetStatus.READY, "p_error": None})
        asset_settled(session, asset_id, AssetStatus.READY, None)


class Queue:
    def __init__(self, sessions: sessionmaker[Session], policy: QueuePolicy, pipelines: Pipelines) -> None:
        self.sessions = sessions
        self.policy = policy
        self.pipelines = pipelines

    def claim(self, worker_id: str, limit: int = 1) -> list[Claim]:
        t = now()
        params = self._lease(worker_id, t) | {"p_max_attempts": self.policy.max_attempts, "p_limit": limit}
        with transaction(self.sessions) as s:
            rows = s.execute(_TAKE_CLAIMABLE, params).all()
            if rows:
                s.execute(
                    update(ASSETS)
                    .where(ASSETS.c.id.in_({r.asset_id for r in rows}), ASSETS.c.status == AssetStatus.PENDING)
                    .values(status=AssetStatus.PROCESSING)
                )
        return [Claim(r.id, r.asset_id, r.step, r.attempts, worker_id, t) for r in rows]

    def heartbeat(self, claim: Claim, progress: float | None = None) -> bool:
        """Extend the lease and, given ``progress``, record it as the fraction of the run
        done (the caller keeps it within 0 to 1); False means the lease was lost and the
        work must be dropped: nothing was written."""
        t = now()
        params = self._owner(claim) | self._lease(claim.worker_id, t)
        statement = _EXTEND
        if progress is not None:
            statement, params["p_progress"] = _EXTEND_AND_REPORT, progress
        with transaction(self.sessions) as s:
            n = s.execute(statement, params).rowcount
        return n == 1

    def complete(self, claim: Claim, step: Step, result: StepResult) -> tuple[bool, Claim | None]:
        """Record ``step``'s result; returns (recorded, next claim).

        When the step unblocks another step of the same asset, this worker claims it in
        the same transaction: the asset finishes sooner, its original is still in the
        page cache, and a round trip to the catalog is saved.
        """
        t = now()
        with transaction(self.sessions) as s:
            done = s.execute(_FINISH, self._owner(claim) | {
                "p_t": t, "p_version": step.version, "p_ms": round((t - claim.claimed_at).total_seconds() * 1000, 3),
            }).rowcount
            if not done:
                return False, None  # the lease went to another worker: its result wins
            write_result(s, claim.asset_id, step, result)
            unblocked = self._unblocked(s, claim.asset_id, step.kind)
            if not unblocked:
                return True, None
            # this worker takes the first unblocked run itself; others become claimable
            follow = self._claim_run(s, unblocked[0], claim.worker_id, t)
            if unblocked[1:]:
                s.execute(update(RUNS).where(RUNS.c.id.in_(unblocked[1:]))
                          .values(state=StepState.PENDING, next_attempt_at=t))
        return True, follow

    def fail(self, claim: Claim, code: str, message: str, *, permanent: bool = False) -> None:
        """Record a failed attempt: a stable ``code`` and a public ``message`` (never a
        traceback); the run is retried with back-off unless ``permanent`` or out of attempts."""
        t = now()
        final = permanent or claim.attempts >= self.policy.max_attempts
        values = {"error_code": code[:64], "error": message[:4000], "finished_at": t, "lease_until": None,
                  "progress": None, "progress_at": None}  # a retry starts from nothing done
        if final:
            values["state"] = StepState.FAILED
        else:
            values.update(state=StepState.PENDING, next_attempt_at=t + self.policy.backoff(claim.attempts))
        with transaction(self.sessions) as s:
            if s.execute(_OWNED.values(**values), self._owner(claim)).rowcount and final:
                self._set_status(s, claim.asset_id, self._runs(s, claim.asset_id))

    def fail_abandoned(self) -> int:
        """Runs whose workers died on every attempt: fail them so the asset says so."""
        t = now()
        with transaction(self.sessions) as s:
            rows = s.execute(
                update(RUNS)
                .where(RUNS.c.state == StepState.RUNNING, RUNS.c.lease_until < t,
                       RUNS.c.attempts >= self.policy.max_attempts)
                .values(state=StepState.FAILED, error_code="worker_lost", progress=None, progress_at=None,
                        error="The worker running this step stopped on every attempt.")
                .returning(RUNS.c.asset_id)
            ).all()
            for asset_id in {r.asset_id for r in rows}:
                self._set_status(s, asset_id, self._runs(s, asset_id))
        return len(rows)

    def depth(self) -> dict[str, int]:
        with self.sessions() as s:
            return dict(s.execute(select(RUNS.c.state, func.count()).group_by(RUNS.c.state)).all())

    # --- internals -------------------------------------------------------------------
    @staticmethod
    def _owner(claim: Claim) -> dict:
        """Parameters of ``_OWNED``: the run, still leased to the worker that claimed it."""
        return {"p_run": claim.run_id, "p_worker": claim.worker_id, "p_attempts": claim.attempts}

    def _lease(self, worker_id: str, t: datetime) -> dict:
        return {"p_worker": worker_id, "p_t": t,
                "p_lease": t + timedelta(seconds=self.policy.lease_seconds)}

    @staticmethod
    def _runs(s: Session, asset_id: str) -> list[Row]:
        return s.execute(_RUNS_OF, {"p_asset": asset_id}).all()

    def _unblocked(self, s: Session, asset_id: str, kind: str) -> list[int]:
        """After a run finished: the ids of waiting runs whose prerequisites are now all
        done. With none, the asset has no work ahead and its status is settled here."""
        rows = self._runs(s, asset_id)
        states = {r.step: r.state for r in rows}
        ready = [
            r.id for r in rows
            if r.state == StepState.WAITING
            and all(states.get(dep) == StepState.DONE for dep in self.pipelines.step(kind, r.step).requires)
        ]
        if not ready:
            self._set_status(s, asset_id, rows)
        return ready

    def _claim_run(self, s: Session, run_id: int, worker_id: str, t: datetime) -> Claim | None:
        row = s.execute(_TAKE_UNBLOCKED, self._lease(worker_id, t) | {"p_run": run_id}).first()
        return Claim(row.id, row.asset_id, row.step, row.attempts, worker_id, t) if row else None

    @staticmethod
    def _set_status(s: Session, asset_id: str, runs: list[Row]) -> None:
        failed = [r for r in runs if r.state == StepState.FAILED]
        if failed:
            status, error = AssetStatus.FAILED, f"{failed[0].step}: {failed[0].error_code}: {failed[0].error or ''}"
        elif all(r.state == StepState.DONE for r in runs):
            status, error = AssetStatus.READY, None
        else:
            status, error = AssetStatus.PROCESSING, None
        params = {"p_asset": asset_id, "p_status": status, "p_error": error}
        if status == AssetStatus.PROCESSING:
            s.execute(_SET_STATUS, params)
        elif s.execute(_CHANGE_STATUS, params).rowcount:
            asset_settled(s, asset_id, status, error)  # in this transaction: the outbox (decision 038)
        elif error is not None:
            s.execute(_SET_STATUS, params)  # failed still: the first failed run's message


def write_result(s: Session, asset_id: str, step: Step, result: StepResult) -> None:
    """Write a step's typed result: facts into the asset's columns, derivatives and
    signals replacing what the step made before (re-runs, backfills)."""
    facts = result.facts
    if facts is not None:
        values = {"width": facts.width, "height": facts.height,
                  "meta": None if facts.meta is None else dict(facts.meta)}
        s.execute(update(ASSETS).where(ASSETS.c.id == asset_id)
                  .values({k: v for k, v in values.items() if v is not None}))
    if result.derivatives:
        s.execute(_DROP_DERIVATIVES, {"p_asset": asset_id, "p_producer": step.name})
        s.execute(_ADD_DERIVATIVES, [
            {"asset_id": asset_id, "width": d.width, "height": d.height, "format": d.format,
             "mime": d.mime, "size_bytes": d.size_bytes, "blob_key": d.blob_key,
             "producer": step.name, "version": step.version}
            for d in result.derivatives
        ])
    write_signals(s, asset_id, result.signals)


def write_signals(s: Session, asset_id: str, signals: Sequence[SignalOut]) -> None:
    """Replace the asset's signals of these names; a signal carrying ``tags`` also
    replaces the asset's tag rows of its source (the signal's name), so ``?tag=`` and
    keyword search find what a model saw. A new model tag or OCR text queues a finished
    text step again (:func:`requeue`; one still waiting for it is left alone)."""
    if signals:
        s.execute(_DROP_SIGNALS, {"p_asset": asset_id, "p_names": [sig.name for sig in signals]})
        s.execute(_ADD_SIGNALS, [
            {"asset_id": asset_id, "name": sig.name, "producer": sig.producer,
             "version": sig.version, "value": sig.value}
            for sig in signals
        ])
        if any(sig.name in TEXT_SIGNALS for sig in signals):
            requeue(s, asset_id, (TEXT_STEP,))  # the asset's text changed: embed it again
        tagged = [sig for sig in signals if isinstance(sig.value.get("tags"), list)]
        if tagged:
            s.execute(_DROP_TAGS, {"p_asset": asset_id, "p_sources": [sig.name for sig in tagged]})
            rows = [row for sig in tagged for row in tag_rows(asset_id, sig)]
            if rows:
                s.execute(_ADD_TAGS, rows)


def tag_rows(asset_id: str, signal: SignalOut) -> list[dict]:
    """One row per distinct label (normalised as a person's tags are), its best score."""
    from vitrina.assets.metadata import normalise_tag

    best: dict[str, float | None] = {}
    for tag in signal.value["tags"]:
        label = normalise_tag(str(tag.get("label") or ""))[:128] if isinstance(tag, dict) else ""
        if not label:
            continue
        score = tag.get("score")
        score = float(score) if isinstance(score, int | float) else None
        if label not in best or (score or 0.0) > (best[label] or 0.0):
            best[label] = score
    return [{"asset_id": asset_id, "tag": label, "source": signal.name[:64], "score": score,
             "version": signal.version[:64]} for label, score in best.items()]


def requeue(s: Session, asset_id: str, steps: Sequence[str]) -> int:
    """Queue the asset's finished (or running) runs of ``steps`` again, in the caller's
    transaction: what they read has changed (a metadata edit, decision 025). A running
    attempt loses its lease, so its result, made from what was there before, is
    dropped; a run still waiting for its prerequisites is left as it is. Returns how
    many runs were queued."""
    queued = s.execute(
        update(RUNS)
        .where(RUNS.c.asset_id == asset_id, RUNS.c.step.in_(list(steps)),
               RUNS.c.state.in_((StepState.DONE, StepState.FAILED, StepState.RUNNING)))
        .values(state=StepState.PENDING, attempts=0, error=None, error_code=None, worker_id=None,
                lease_until=None, progress=None, progress_at=None, next_attempt_at=now())
    ).rowcount
    if queued:
        s.execute(_SET_STATUS, {"p_asset": asset_id, "p_status": AssetStatus.PROCESSING, "p_error": None})
    return queued
