"""Stale results and backfills.

Two things go stale on their own: a step's runs when the step's version goes up
(they are queued again), and an analyser's results when that analyser's version goes
up or it is new (only that analyser runs again, in batches across assets, in this
process: a model-backed analyser gets ``batch_size`` inputs per call).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import islice

from sqlalchemy import and_, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from vitrina.analysis.base import Analyser
from vitrina.assets.states import AssetStatus, StepState
from vitrina.errors import VitrinaError
from vitrina.pipeline.queue import ASSETS, RUNS, SIGNALS, write_signals
from vitrina.pipeline.steps import Step, StepContext, signal_of
from vitrina.runtime import Runtime
from vitrina.storage.catalog.db import transaction

log = logging.getLogger("vitrina.backfill")
FINISHED = (StepState.DONE, StepState.FAILED)
CHUNK = 64  # assets whose inputs are held in memory at once


def batched(items: Iterable[str], size: int) -> Iterator[list[str]]:
    it = iter(items)
    while chunk := list(islice(it, size)):
        yield chunk


# --- steps ---------------------------------------------------------------------------
def _stale_runs(kind: str, step: str, version: str) -> tuple:
    return (RUNS.c.step == step, RUNS.c.state.in_(FINISHED), RUNS.c.version != version,
            RUNS.c.asset_id.in_(select(ASSETS.c.id).where(ASSETS.c.kind == kind)))


def _without_run(kind: str, step: str) -> tuple:
    """Assets of ``kind`` with no run of ``step``: ingested before the step existed (a
    model analyser switched on later, decision 025; a plug-in's new step)."""
    return (ASSETS.c.kind == kind, ASSETS.c.id.not_in(select(RUNS.c.asset_id).where(RUNS.c.step == step)))


def stale_steps(rt: Runtime) -> dict[str, int]:
    """Per step: finished runs whose recorded version is not the step's current one, and
    assets that have no run of it yet could run it (see :func:`requeue_stale`)."""
    counts: dict[str, int] = {}
    with rt.sessions() as s:
        for (kind, step), version in rt.pipelines.versions().items():
            n = s.scalar(select(func.count()).select_from(RUNS).where(*_stale_runs(kind, step, version)))
            n += len(_missing_runs(s, rt.pipelines.step(kind, step), kind))
            if n:
                counts[step] = counts.get(step, 0) + n
    return counts


def _missing_runs(s: Session, step: Step, kind: str) -> dict[str, StepState]:
    """Assets of ``kind`` without a run of ``step`` -> the state their run starts in:
    pending when every step it requires is done, waiting when those are still to run
    (the queue unblocks it). An asset one of whose required steps failed, or lacks a
    run too, is left out: it could never run (a missing prerequisite is added first)."""
    runs: dict[str, dict[str, str]] = {}
    for r in s.execute(select(RUNS.c.asset_id, RUNS.c.step, RUNS.c.state)
                       .where(RUNS.c.asset_id.in_(select(ASSETS.c.id).where(*_without_run(kind, step.name))))):
        runs.setdefault(r.asset_id, {})[r.step] = r.state
    missing = {}
    for asset_id, states in runs.items():
        needed = [states.get(dep) for dep in step.requires]
        if any(state in (StepState.FAILED, None) for state in needed):
            continue
        missing[asset_id] = StepState.PENDING if all(x == StepState.DONE for x in needed) else StepState.WAITING
    return missing


def _add_missing_runs(s: Session, rt: Runtime, kind: str, step: str | None) -> int:
    """Give assets of ``kind`` the runs of the kind's steps (all, or ``step``) they lack,
    dependencies first (a step added here counts for the steps after it)."""
    added = 0
    for each in rt.pipelines.steps(kind):
        if step and each.name != step:
            continue
        for asset_id, state in _missing_runs(s, each, kind).items():
            s.execute(insert(RUNS).values(asset_id=asset_id, step=each.name, version=each.version, state=state,
                                          attempts=0, next_attempt_at=func.now()))
            s.execute(update(ASSETS).where(ASSETS.c.id == asset_id).values(status=AssetStatus.PROCESSING))
            added += 1
    return added


def requeue_stale(rt: Runtime, step: str | None = None) -> int:
    """Send stale step runs back to the queue, and add the runs of steps an asset has
    none of; their assets read as processing until done."""
    total = 0
    with transaction(rt.sessions) as s:
        for kind in rt.pipelines.kinds():
            total += _add_missing_runs(s, rt, kind, step)
        for (kind, name), version in rt.pipelines.versions().items():
            if step and name != step:
                continue
            stale = _stale_runs(kind, name, version)
            asset_ids = s.scalars(select(RUNS.c.asset_id).where(*stale)).all()
            if not asset_ids:
                continue
            s.execute(update(RUNS).where(*stale).values(
                state=StepState.PENDING, attempts=0, error=None, error_code=None, version=version,
                progress=None, progress_at=None, next_attempt_at=func.now()))
            s.execute(update(ASSETS).where(ASSETS.c.id.in_(asset_ids))
                      .values(status=AssetStatus.PROCESSING))
            total += len(asset_ids)
    return total


# --- analysers -----------------------------------------------------------------------
def _stale_for(analyser: Analyser) -> tuple:
    """Assets whose analysis step is done but lack ``analyser``'s current result."""
    source = analyser.input
    current = select(SIGNALS.c.asset_id).where(SIGNALS.c.name == analyser.name,
                                               SIGNALS.c.version == analyser.version)
    analysed = select(RUNS.c.asset_id).where(RUNS.c.step == source.step, RUNS.c.state == StepState.DONE)
    return (ASSETS.c.kind == source.kind, ASSETS.c.id.in_(analysed), ASSETS.c.id.not_in(current))


def stale_analysers(rt: Runtime) -> dict[str, int]:
    counts: dict[str, int] = {}
    with rt.sessions() as s:
        for analyser in rt.registries.analysers:
            n = s.scalar(select(func.count()).select_from(ASSETS).where(*_stale_for(analyser)))
            if n:
                counts[analyser.name] = n
    return counts


def stale_counts(rt: Runtime) -> dict[str, int]:
    """Everything stale: step names and ``analyser:<name>``."""
    return stale_steps(rt) | {f"analyser:{k}": n for k, n in stale_analysers(rt).items()}


def backfill_analysers(rt: Runtime, names: Iterable[str] | None = None,
                       progress: Callable[[int], None] | None = None) -> int:
    """Run stale analysers (all, or those ``names``) over the assets missing their
    current result; each input is made once per asset for every analyser reading it.
    Returns how many results were written; ``progress`` hears each chunk's size."""
    chosen = [rt.registries.analysers.get(n) for n in names] if names else list(rt.registries.analysers)
    by_input: dict[tuple[str, str], list[Analyser]] = {}
    for analyser in chosen:
        by_input.setdefault((analyser.input.kind, analyser.input.name), []).append(analyser)
    written = 0
    for analysers in by_input.values():
        stale = _stale_ids(rt, analysers)
        ids = sorted(set().union(*stale.values()))
        for chunk in batched(ids, CHUNK):
            written += _run_chunk(rt, analysers, stale, chunk)
            if progress:
                progress(len(chunk))
    return written


def count_backfill(rt: Runtime, names: Iterable[str] | None = None) -> int:
    """How many assets :func:`backfill_analysers` would visit."""
    chosen = [rt.registries.analysers.get(n) for n in names] if names else list(rt.registries.analysers)
    with rt.sessions() as s:
        return s.scalar(select(func.count()).select_from(ASSETS).where(
            or_(*(and_(*_stale_for(a)) for a in chosen)))) if chosen else 0


def _stale_ids(rt: Runtime, analysers: Sequence[Analyser]) -> dict[str, set[str]]:
    with rt.sessions() as s:
        return {a.name: set(s.scalars(select(ASSETS.c.id).where(*_stale_for(a)))) for a in analysers}


def _run_chunk(rt: Runtime, analysers: Sequence[Analyser], stale: dict[str, set[str]],
               chunk: Sequence[str]) -> int:
    source = analysers[0].input
    inputs = {}
    for asset_id in chunk:
        asset = rt.asset_repository.snapshot(None, asset_id)
        if asset is None:
            continue  # deleted meanwhile
        try:
            inputs[asset_id] = source.load(StepContext(asset, rt.store, rt.settings, attempt=1))
        except VitrinaError as exc:
            log.warning("cannot make %s of %s for a backfill: %s", source.name, asset_id, exc.message)
    results: dict[str, list] = {asset_id: [] for asset_id in inputs}
    for analyser in analysers:
        todo = [asset_id for asset_id in inputs if asset_id in stale[analyser.name]]
        for batch in batched(todo, max(1, analyser.batch_size)):
            values = analyser.analyse([inputs[asset_id] for asset_id in batch])
            for asset_id, value in zip(batch, values, strict=True):
                results[asset_id].append(signal_of(analyser, value))
    written = 0
    for asset_id, signals in results.items():
        try:
            with transaction(rt.sessions) as s:
                written += _write_if_present(s, asset_id, signals)
        except IntegrityError:
            continue  # the asset was deleted between reading and writing
    return written


def _write_if_present(s: Session, asset_id: str, signals: list) -> int:
    if s.scalar(select(ASSETS.c.id).where(ASSETS.c.id == asset_id)) is None:
        return 0
    write_signals(s, asset_id, signals)
    return len(signals)
