"""Batch backfills of analyser results on an engine (decision 026).

The driver (this process) plans batches from what is stale in the catalog, an engine
computes them (``local``: a process pool; ``ray``: Ray tasks), and the driver writes
each batch's results together with the job's counters in one short transaction.
Staleness is the source of truth: a run that is killed and started again (``--resume
JOB``, or the same command) plans only what is still stale, and a result written twice
is written once (an identical stored result is left alone).

Which results a job recomputes:

- every stale result (an analyser's stored result missing or of another version), of
  every analyser or of the ones named;
- with ``force``, every result of those analysers not written since the job started
  (a forced job is resumable too: what it already wrote is newer than its start).
"""

from __future__ import annotations

import json
import logging
import math
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from vitrina.analysis.base import Analyser
from vitrina.assets.states import StepState
from vitrina.batch.engines import EngineOptions
from vitrina.batch.jobs import HEARTBEAT_SECONDS, BackfillJobs, JobView, now
from vitrina.batch.work import BatchOutcome, BatchTask, compute_batch
from vitrina.config import Settings
from vitrina.errors import InvalidInput
from vitrina.pipeline.queue import ASSETS, RUNS, SIGNALS, write_signals
from vitrina.pipeline.steps import SignalOut
from vitrina.runtime import Runtime
from vitrina.storage.catalog.db import transaction

log = logging.getLogger("vitrina.batch")
PAGE = 1000  # asset ids planned per catalog read


@dataclass(frozen=True)
class BackfillRequest:
    analysers: tuple[str, ...] | None = None  # None: every analyser with stale results
    force: bool = False
    project: str | None = None  # None: every project
    engine: str = "local"
    processes: int | None = None
    address: str | None = None
    batch_size: int | None = None  # None: the analysers' own (see task_size)

    def options(self) -> EngineOptions:
        return EngineOptions(self.processes, self.address)

    def options_dict(self) -> dict[str, Any]:
        return {"processes": self.processes, "address": self.address, "batch_size": self.batch_size}


@dataclass(frozen=True)
class BackfillSummary:
    job: JobView
    assets: int  # visited in this run
    written: int  # results written in this run
    failed: int
    seconds: float
    resumed: bool

    @property
    def rate(self) -> float:
        return self.assets / self.seconds if self.seconds > 0 else 0.0


# --- what is stale -------------------------------------------------------------------
def chosen_analysers(rt: Runtime, names: Sequence[str] | None) -> list[Analyser]:
    if names:
        unknown = [n for n in names if n not in rt.registries.analysers]
        if unknown:
            raise InvalidInput(f"no analyser named {', '.join(map(repr, unknown))}; known: "
                               f"{', '.join(rt.registries.analysers.names())}", code="unknown_analyser",
                               details={"unknown": unknown})
        return [rt.registries.analysers.get(n) for n in dict.fromkeys(names)]
    return list(rt.registries.analysers)


def by_input(analysers: Sequence[Analyser]) -> dict[tuple[str, str], list[Analyser]]:
    groups: dict[tuple[str, str], list[Analyser]] = {}
    for a in analysers:
        groups.setdefault((a.input.kind, a.input.name), []).append(a)
    return groups


def _stale(a: Analyser, project: str | None, since: datetime | None) -> Any:
    """Assets whose analysis step is done and whose result of ``a`` is missing, of
    another version, or (``since``) written before it."""
    current = [SIGNALS.c.name == a.name, SIGNALS.c.version == a.version]
    if since is not None:
        current.append(SIGNALS.c.created_at >= since)
    analysed = select(RUNS.c.asset_id).where(RUNS.c.step == a.input.step, RUNS.c.state == StepState.DONE)
    conds = [ASSETS.c.kind == a.input.kind, ASSETS.c.id.in_(analysed),
             ASSETS.c.id.not_in(select(SIGNALS.c.asset_id).where(*current))]
    if project is not None:
        conds.append(ASSETS.c.project_id == project)
    return and_(*conds)


def count_stale(rt: Runtime, analysers: Sequence[Analyser], project: str | None = None,
                since: datetime | None = None) -> int:
    """Assets (per input) with at least one result to recompute."""
    total = 0
    with rt.sessions() as s:
        for group in by_input(analysers).values():
            total += s.scalar(select(func.count()).select_from(ASSETS).where(
                or_(*(_stale(a, project, since) for a in group))))
    return total


def stale_items(rt: Runtime, group: Sequence[Analyser], project: str | None,
                since: datetime | None) -> Iterator[tuple[str, tuple[str, ...]]]:
    """(asset id, names of its stale analysers) in id order, read a page at a time."""
    last = ""
    versions = {a.name: a.version for a in group}
    while True:
        with rt.sessions() as s:
            ids = s.scalars(select(ASSETS.c.id).where(
                or_(*(_stale(a, project, since) for a in group)), ASSETS.c.id > last)
                .order_by(ASSETS.c.id).limit(PAGE)).all()
            if not ids:
                return
            stored: dict[tuple[str, str], tuple[str, datetime]] = {
                (r.asset_id, r.name): (r.version, r.created_at) for r in s.execute(
                    select(SIGNALS.c.asset_id, SIGNALS.c.name, SIGNALS.c.version, SIGNALS.c.created_at)
                    .where(SIGNALS.c.asset_id.in_(ids), SIGNALS.c.name.in_(list(versions))))}
        for asset_id in ids:
            names = tuple(n for n, v in versions.items() if not _current(stored.get((asset_id, n)), v, since))
            if names:
                yield asset_id, names
        last = ids[-1]


def _current(stored: tuple[str, datetime] | None, version: str, since: datetime | None) -> bool:
    if stored is None or stored[0] != version:
        return False
    if since is None:
        return True
    made = stored[1] if stored[1].tzinfo else stored[1].replace(tzinfo=since.tzinfo)
    return made >= since


def task_size(group: Sequence[Analyser], total: int, width: int, asked: int | None) -> int:
    """Assets per task: ``asked``, else the group's largest analyser batch size, made
    smaller when the work is small so every worker gets several tasks (an analyser's
    batch size is a maximum; it still gets its own batches within a task)."""
    if asked:
        return max(1, asked)
    largest = max(max(1, int(a.batch_size)) for a in group)
    return max(1, min(largest, math.ceil(total / (4 * width)) if total else largest))


# --- writing -------------------------------------------------------------------------
def _normal(value: Any) -> Any:
    return json.loads(json.dumps(value))


def write_results(s: Session, asset_id: str, signals: Sequence[tuple[str, str, str, dict]],
                  since: datetime | None = None) -> int:
    """Write an asset's recomputed results; one equal to the stored one (same producer,
    version and value, and for a forced job written since it started) is left alone, so
    writing a batch twice changes nothing. Returns how many rows were written."""
    if s.scalar(select(ASSETS.c.id).where(ASSETS.c.id == asset_id)) is None:
        return 0  # deleted meanwhile
    stored = {r.name: r for r in s.execute(
        select(SIGNALS.c.name, SIGNALS.c.producer, SIGNALS.c.version, SIGNALS.c.value, SIGNALS.c.created_at)
        .where(SIGNALS.c.asset_id == asset_id, SIGNALS.c.name.in_([sig[0] for sig in signals])))}
    changed = []
    for name, producer, version, value in signals:
        old = stored.get(name)
        same = (old is not None and (old.producer, old.version) == (producer, version)
                and _normal(old.value) == _normal(value)
                and _current((old.version, old.created_at), version, since))
        if not same:
            changed.append(SignalOut(name, producer, version, value))
    write_signals(s, asset_id, changed)
    return len(changed)


# --- the driver ----------------------------------------------------------------------
class Heartbeat:
    """Writes the job's heartbeat every few seconds while batches take long."""

    def __init__(self, jobs: BackfillJobs, job_id: str) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(jobs, job_id), daemon=True,
                                        name="backfill-heartbeat")

    def __enter__(self) -> Heartbeat:  # noqa: PYI034
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(10)

    def _run(self, jobs: BackfillJobs, job_id: str) -> None:
        while not self._stop.wait(HEARTBEAT_SECONDS):
            try:
                jobs.heartbeat(job_id)
            except Exception:  # a missed heartbeat is not fatal
                log.warning("backfill %s: heartbeat not written", job_id, exc_info=True)


def prepare(rt: Runtime, request: BackfillRequest, resume: str | None = None) -> tuple[JobView, bool]:
    """The job to run: ``resume`` (taken over), else an interrupted job with the same
    parameters (adopted), else a new one. Returns it and whether it was resumed."""
    jobs = BackfillJobs(rt.sessions)
    engine = rt.registries.engines.get(request.engine)
    if resume is not None:
        old = jobs.get(resume)
        request = BackfillRequest(tuple(old.analysers) if old.analysers else None, old.force, old.project,
                                  engine.name, request.processes, request.address, request.batch_size)
        since = old.started_at if old.force else None
        left = count_stale(rt, chosen_analysers(rt, request.analysers), request.project, since)
        return jobs.resume(resume, left, engine.name, request.options_dict()), True
    names = sorted(request.analysers) if request.analysers else None
    analysers = chosen_analysers(rt, names)
    adopted = jobs.interrupted(project=request.project, analysers=names, force=request.force)
    if adopted is not None:
        return prepare(rt, request, adopted)
    total = count_stale(rt, analysers, request.project, now() if request.force else None)
    job_id = jobs.create(project=request.project, analysers=names, force=request.force, engine=engine.name,
                         options=request.options_dict(), total=total)
    return jobs.get(job_id), False


def portable(settings: Settings) -> Settings:
    """``settings`` with the data dir absolute: a worker may start in another directory."""
    return settings.model_copy(update={"data_dir": Path(settings.data_dir).resolve()})


def run_job(rt: Runtime, job: JobView, request: BackfillRequest, *, resumed: bool = False,
            progress: Callable[[int], None] | None = None) -> BackfillSummary:
    """Run ``job`` (from :func:`prepare`) to the end: plan what is stale, compute it on the
    engine, write each batch with the job's counters. Stops after the batch in hand when
    the job is cancelled (``vitrina batch cancel``) or on KeyboardInterrupt (cancelled)."""
    jobs = BackfillJobs(rt.sessions)
    engine = rt.registries.engines.get(request.engine)
    options = request.options()
    since = job.started_at if job.force else None
    analysers = chosen_analysers(rt, job.analysers)
    started = time.perf_counter()
    assets = written = failed = 0
    state = "done"

    settings = portable(rt.settings)

    def tasks() -> Iterator[BatchTask]:
        for (kind, name), group in by_input(analysers).items():
            size = task_size(group, job.left or 1, options.width(), request.batch_size)
            chunk: list[tuple[str, tuple[str, ...]]] = []
            for item in stale_items(rt, group, job.project, since):
                chunk.append(item)
                if len(chunk) == size:
                    yield BatchTask(settings, kind, name, tuple(chunk))
                    chunk = []
            if chunk:
                yield BatchTask(settings, kind, name, tuple(chunk))

    try:
        with Heartbeat(jobs, job.id):
            # nothing stale: no workers started at all
            results = engine.run(compute_batch, tasks(), options) if job.left else iter(())
            try:
                for outcome in results:
                    n, now_state = _write_batch(rt, jobs, job.id, outcome, since)
                    assets += outcome.assets
                    written += n
                    failed += len(outcome.failed)
                    for asset_id, code, message in outcome.failed:
                        log.warning("backfill %s: %s failed: %s: %s", job.id, asset_id, code, message)
                    if progress:
                        progress(outcome.assets)
                    if now_state != "running":
                        state = now_state
                        break
            finally:
                close = getattr(results, "close", None)
                if close:
                    close()
    except KeyboardInterrupt:
        jobs.finish(job.id, "cancelled", "interrupted by the user")
        raise
    except Exception as exc:
        jobs.finish(job.id, "failed", f"{type(exc).__name__}: {exc}"[:1000])
        raise
    if state == "done":
        jobs.finish(job.id, "done")
    return BackfillSummary(jobs.get(job.id), assets, written, failed, time.perf_counter() - started, resumed)


def _write_batch(rt: Runtime, jobs: BackfillJobs, job_id: str, outcome: BatchOutcome,
                 since: datetime | None) -> tuple[int, str]:
    """The batch's results and the job's counters in one transaction."""
    done = len(outcome.results) + len(outcome.gone)
    try:
        with transaction(rt.sessions) as s:
            n = sum(write_results(s, a, sigs, since) for a, sigs in outcome.results)
            return n, jobs.advance(s, job_id, done=done, failed=len(outcome.failed), written=n)
    except IntegrityError:
        pass  # an asset went between the check and the insert: one transaction per asset
    n = 0
    for asset_id, sigs in outcome.results:
        try:
            with transaction(rt.sessions) as s:
                n += write_results(s, asset_id, sigs, since)
        except IntegrityError:
            continue
    with transaction(rt.sessions) as s:
        return n, jobs.advance(s, job_id, done=done, failed=len(outcome.failed), written=n)


def backfill(rt: Runtime, request: BackfillRequest, resume: str | None = None,
             progress: Callable[[int], None] | None = None) -> BackfillSummary:
    """:func:`prepare` then :func:`run_job`."""
    job, resumed = prepare(rt, request, resume)
    engine_request = BackfillRequest(tuple(job.analysers) if job.analysers else None, job.force, job.project,
                                     job.engine, request.processes, request.address, request.batch_size)
    return run_job(rt, job, engine_request, resumed=resumed, progress=progress)
