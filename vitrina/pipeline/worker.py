"""Workers: claim a step run, run it under a heartbeat, record the outcome."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import traceback

from sqlalchemy import bindparam, select

from vitrina.errors import VitrinaError
from vitrina.pipeline import steps as step_registry
from vitrina.pipeline.queue import ASSETS, DERIVATIVES, ORIGINALS, Claim
from vitrina.pipeline.steps import AssetView, DerivativeOut, StepContext
from vitrina.runtime import Runtime

log = logging.getLogger("vitrina.worker")
SWEEP_EVERY_SECONDS = 600

_a, _o, _d = ASSETS.c, ORIGINALS.c, DERIVATIVES.c
_ASSET = (select(_a.id, _a.kind, _a.mime, _a.sha256, _a.width, _a.height, _a.meta, _o.blob_key)
          .join_from(ASSETS, ORIGINALS).where(_a.id == bindparam("p_asset")))
_DERIVATIVES_OF = (select(_d.width, _d.height, _d.format, _d.mime, _d.size_bytes, _d.blob_key)
                   .where(_d.asset_id == bindparam("p_asset")).order_by(_d.id))


def worker_name(index: int = 0) -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{index}"


class Worker:
    def __init__(self, runtime: Runtime, name: str | None = None) -> None:
        self.rt = runtime
        self.name = name or worker_name()
        self.wake = threading.Event()  # set by in-process ingest so new work starts at once
        self._next_sweep = 0.0

    def run_once(self) -> int:
        """Claim a step run and process it (and the asset's steps it unblocks); 0 when idle."""
        done = 0
        for claim in self.rt.queue.claim(self.name):
            follow: Claim | None = claim
            while follow is not None:  # claimed in the transaction that completed the last step
                follow = self._process(follow)
                done += 1
        return done

    def run_until_idle(self) -> int:
        """Process until nothing is claimable (batch mode, tests, benchmarks); steps run."""
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
            self.wake.wait(min(self.rt.settings.poll_seconds * idle, 2.0))
            self.wake.clear()

    def _look_after(self) -> None:
        """Chores of an idle worker: fail runs abandoned on every attempt and, every few
        minutes, remove staged uploads that crashed processes left behind."""
        self.rt.queue.fail_abandoned()
        if time.monotonic() >= self._next_sweep:
            self._next_sweep = time.monotonic() + SWEEP_EVERY_SECONDS
            if swept := self.rt.store.sweep_temp():
                log.info("removed %d staged files left by crashed writers", swept)

    def _process(self, claim: Claim) -> Claim | None:
        step = step_registry.get(claim.step)
        lost = threading.Event()
        done = threading.Event()
        beat = threading.Thread(target=self._heartbeat, args=(claim, done, lost), daemon=True)
        beat.start()
        started = time.perf_counter()
        try:
            ctx = StepContext(self._asset_view(claim.asset_id), self.rt.store, self.rt.settings, claim.attempts)
            result = step.run(ctx)
        except VitrinaError as exc:  # bad input: retrying cannot help
            done.set()
            log.warning("step %s of %s failed: %s", claim.step, claim.asset_id, exc.message)
            self.rt.queue.fail(claim, f"{exc.code}: {exc.message}", permanent=exc.status < 500)
            return None
        except Exception as exc:
            done.set()
            log.exception("step %s of %s crashed (attempt %d)", claim.step, claim.asset_id, claim.attempts)
            self.rt.queue.fail(claim, "".join(traceback.format_exception_only(exc)).strip())
            return None
        finally:
            done.set()
            beat.join()
        recorded, follow = (False, None) if lost.is_set() else self.rt.queue.complete(claim, step.version, result)
        if not recorded:
            log.warning("step %s of %s lost its lease; result dropped", claim.step, claim.asset_id)
            return None
        log.info("step %s of %s done in %.0f ms", claim.step, claim.asset_id,
                 (time.perf_counter() - started) * 1000)
        return follow

    def _heartbeat(self, claim: Claim, done: threading.Event, lost: threading.Event) -> None:
        interval = self.rt.settings.lease_seconds / 3
        while not done.wait(interval):
            try:
                if not self.rt.queue.heartbeat(claim):
                    lost.set()
                    return
            except Exception:
                log.exception("heartbeat failed")

    def _asset_view(self, asset_id: str) -> AssetView:
        with self.rt.sessions() as s:
            row = s.execute(_ASSET, {"p_asset": asset_id}).first()
            if row is None:
                raise VitrinaError(f"asset {asset_id} vanished", code="not_found", status=404)
            derivatives = s.execute(_DERIVATIVES_OF, {"p_asset": asset_id}).all()
        return AssetView(
            id=row.id, kind=row.kind, mime=row.mime, sha256=row.sha256, blob_key=row.blob_key,
            width=row.width, height=row.height, meta=dict(row.meta or {}),
            derivatives=tuple(DerivativeOut(*r) for r in derivatives),
        )


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
