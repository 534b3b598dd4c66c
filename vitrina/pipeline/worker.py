"""Workers: claim a step run, run it under a heartbeat and a time budget, record the
outcome."""

from __future__ import annotations

import logging
import math
import os
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from vitrina.errors import NotFound, VitrinaError
from vitrina.pipeline.queue import Claim
from vitrina.pipeline.steps import Step, StepContext, StepResult, budget_of

if TYPE_CHECKING:
    from vitrina.runtime import Runtime

log = logging.getLogger("vitrina.worker")
SWEEP_EVERY_SECONDS = 600
#: a run's progress is written at most this often: the catalog sees a second's news at a time
PROGRESS_EVERY_SECONDS = 1.0
#: a busy worker looks for due webhook deliveries at most this often (an idle one, every round)
DELIVERIES_EVERY_SECONDS = 1.0


def worker_name(index: int = 0) -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{index}"


class Worker:
    def __init__(self, runtime: Runtime, name: str | None = None) -> None:
        self.rt = runtime
        self.name = name or worker_name()
        self.wake = threading.Event()  # set by in-process ingest so new work starts at once
        self._next_sweep = 0.0
        self._next_deliveries = 0.0

    def run_once(self) -> int:
        """Claim a step run and process it (and the asset's steps it unblocks), then send
        the webhook deliveries due (a few: media work waits on them); 0 when idle."""
        done = 0
        for claim in self.rt.queue.claim(self.name):
            follow: Claim | None = claim
            while follow is not None:  # claimed in the transaction that completed the last step
                follow = self._process(follow)
                done += 1
        if not done or time.monotonic() >= self._next_deliveries:  # a claim costs ~1 ms: not every step
            self._next_deliveries = time.monotonic() + DELIVERIES_EVERY_SECONDS
            done += self.rt.webhooks.deliver_due(self.name)
        return done

    def run_until_idle(self) -> int:
        """Process until nothing is claimable (batch mode, tests, benchmarks); steps run
        and deliveries sent."""
        total = 0
        while done := self.run_once():
            total += done
        return total

    def run_forever(self, stop: threading.Event) -> None:
        idle = 0
        while not stop.is_set():
            try:
                worked = self.run_once()
            except Exception:  # the catalog may be briefly away: back off, never die
                log.exception("claim failed")
                worked = False
            if worked:
                idle = 0
                continue
            idle += 1
            if idle % 40 == 1:
                try:
                    self._look_after()
                except Exception:  # chores can wait for the next idle spell; the worker stays
                    log.exception("idle chores failed")
            self.wake.wait(min(self.rt.settings.pipeline.poll_seconds * idle, 2.0))
            self.wake.clear()

    def _look_after(self) -> None:
        """Chores of an idle worker: fail runs abandoned on every attempt and, every few
        minutes, remove staged uploads that crashed processes left behind and originals
        that no asset references any more."""
        self.rt.queue.fail_abandoned()
        if time.monotonic() >= self._next_sweep:
            self._next_sweep = time.monotonic() + SWEEP_EVERY_SECONDS
            if swept := self.rt.store.sweep_temp():
                log.info("removed %d staged files left by crashed writers", swept)
            if expired := self.rt.uploads.sweep_expired():
                log.info("removed %d expired or abandoned resumable uploads", expired)
            if collected := self.rt.assets.collect_unreferenced():
                log.info("removed %d originals no asset references", collected)

    def _process(self, claim: Claim) -> Claim | None:
        try:
            asset = self.rt.asset_repository.snapshot(None, claim.asset_id)
            if asset is None:
                raise NotFound(f"asset {claim.asset_id} was deleted", code="asset_gone")
            step = self.rt.pipelines.step(asset.kind, claim.step)
        except VitrinaError as exc:  # nothing to run: retrying cannot help
            self.rt.queue.fail(claim, exc.code, exc.message, permanent=True)
            return None
        outcome = _Run(step)
        ctx = StepContext(asset, self.rt.store, self.rt.settings, claim.attempts,
                          progress=outcome.report, ingest=self._ingest_for(asset.project_id))
        budget = budget_of(step, self.rt.settings)
        threading.Thread(target=outcome.run, args=(ctx,), name=f"{self.name}:{claim.step}", daemon=True).start()
        if not self._watch(claim, outcome, budget):
            return None
        if outcome.error is not None:
            self._failed(claim, outcome.error)
            return None
        recorded, follow = self.rt.queue.complete(claim, step, outcome.result)
        if not recorded:
            log.warning("step %s of %s lost its lease; result dropped", claim.step, claim.asset_id)
            return None
        log.info("step %s of %s done in %.0f ms", claim.step, claim.asset_id, outcome.seconds * 1000)
        return follow

    def _ingest_for(self, project: str) -> Callable[[Path, str, str], str]:
        def ingest(path: Path, filename: str, idempotency_key: str) -> str:
            return self.rt.ingestor.ingest_file(path, project=project, filename=filename,
                                                idempotency_key=idempotency_key).asset_id
        return ingest

    def _watch(self, claim: Claim, outcome: _Run, budget: float) -> bool:
        """Wait for the step within its time budget, extending its lease every lease/3 s
        and writing its progress when it changed, at most once a second, in the same
        statement: the step's thread never waits on the catalog. False when the run was
        given up (over budget, or the lease went to another worker): a step thread still
        running then finishes unheard."""
        start = time.monotonic()
        beat_every = self.rt.settings.pipeline.lease_seconds / 3
        deadline, next_beat = start + budget, start + beat_every
        quiet_until, written = 0.0, None  # no progress write before then; the fraction last written
        while not outcome.done.is_set():
            t = time.monotonic()
            if t >= deadline:
                log.error("step %s of %s ran over its %g s budget (attempt %d)",
                          claim.step, claim.asset_id, budget, claim.attempts)
                self.rt.queue.fail(claim, "step_timeout", f"The step ran longer than its {budget:g} s budget.")
                return False
            fraction = outcome.fraction
            report = fraction is not None and fraction != written and t >= quiet_until
            if report or t >= next_beat:
                next_beat = t + beat_every  # a failed write is tried again then, not in a loop
                if report:
                    quiet_until = t + PROGRESS_EVERY_SECONDS
                try:
                    if not self.rt.queue.heartbeat(claim, fraction if report else None):
                        log.warning("step %s of %s lost its lease; result dropped", claim.step, claim.asset_id)
                        return False
                    if report:
                        written = fraction
                        self.rt.webhooks.progress.reported(claim.asset_id, claim.step, fraction)
                except Exception:
                    log.exception("heartbeat failed")
            outcome.idle(min(next_beat, deadline), quiet_until, written)
        return True

    def _failed(self, claim: Claim, exc: BaseException) -> None:
        if isinstance(exc, VitrinaError):  # bad input: retrying cannot help
            log.warning("step %s of %s failed: %s", claim.step, claim.asset_id, exc.message)
            self.rt.queue.fail(claim, exc.code, exc.message, permanent=exc.status < 500)
            return
        if isinstance(exc, TimeoutError):  # a tool the step ran was stopped at its time limit
            log.error("step %s of %s ran out of time (attempt %d): %s", claim.step, claim.asset_id,
                      claim.attempts, exc)
            self.rt.queue.fail(claim, "step_timeout", "The step ran longer than its time budget; it is retried.")
            return
        # the traceback goes to the log only; the catalog keeps a stable code
        log.error("step %s of %s crashed (attempt %d)", claim.step, claim.asset_id, claim.attempts,
                  exc_info=exc)
        self.rt.queue.fail(claim, "step_crashed", "The step failed unexpectedly; it is retried, "
                           "and the server log has the details.")


class _Run:
    """One step run on its own thread, so the worker can give up on it, and the latest
    progress it reported, kept in memory for the worker's watching thread."""

    def __init__(self, step: Step) -> None:
        self.step = step
        self.done = threading.Event()
        self.stirred = threading.Event()  # set by news for the watcher: more progress, or the end
        self.result: StepResult | None = None
        self.error: BaseException | None = None
        self.seconds = 0.0
        self.fraction: float | None = None  # within 0 to 1, never going back
        self._reporting = threading.Lock()

    def run(self, ctx: StepContext) -> None:
        started = time.perf_counter()
        try:
            self.result = self.step.run(ctx)
        except Exception as exc:  # noqa: BLE001  handed to the worker, which records it
            self.error = exc
        finally:
            self.seconds = time.perf_counter() - started
            self.done.set()
            self.stirred.set()

    def report(self, fraction: float) -> None:
        """The step's ``progress`` hook, on the step's thread: a comparison and, when the
        fraction grew, a word to the watcher; never a wait on the catalog."""
        value = float(fraction)
        if math.isnan(value):  # says nothing about how far the step is
            return
        value = min(max(value, 0.0), 1.0)
        with self._reporting:  # a step may report from several threads of its own
            if self.fraction is not None and value <= self.fraction:
                return
            self.fraction = value
        self.stirred.set()

    def idle(self, until: float, quiet_until: float, written: float | None) -> None:
        """Sleep until the monotonic time ``until``, the step's end or, once the quiet
        second after a progress write is over, news of progress not yet ``written``."""
        now = time.monotonic()
        if now < quiet_until:  # reports wait for the quiet second to end; the step's end does not
            self.done.wait(max(0.0, min(until, quiet_until) - now))
            return
        self.stirred.clear()  # then look: news arriving after this look sets it again
        if self.fraction == written:
            self.stirred.wait(max(0.0, until - now))


class WorkerPool:
    """N worker threads in this process (libvips releases the GIL while it works)."""

    def __init__(self, runtime: Runtime, threads: int) -> None:
        self.workers = [Worker(runtime, worker_name(i)) for i in range(threads)]
        self.stop = threading.Event()
        self.threads: list[threading.Thread] = []

    def start(self) -> None:
        for w in self.workers:
            t = threading.Thread(target=w.run_forever, args=(self.stop,), name=w.name, daemon=True)
            t.start()
            self.threads.append(t)

    def poke(self) -> None:
        for w in self.workers:
            w.wake.set()

    def shutdown(self, timeout: float = 10.0) -> None:
        self.stop.set()
        self.poke()
        for t in self.threads:
            t.join(timeout)
