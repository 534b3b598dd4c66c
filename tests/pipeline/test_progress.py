"""A running step's progress, as the API shows it: the fraction the step last reported
(clamped, never going back, written at most once a second and only when it changed),
an estimate of the time left, null again on a retry, 1 when done; and only the worker
holding the run's lease writes it."""

from __future__ import annotations

import json
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from alembic import command
from click.testing import CliRunner
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from tests.conftest import make_settings
from tests.pipeline.toy import MAGIC, ToyKind
from vitrina.api.app import create_app
from vitrina.cli import main
from vitrina.client import Asset
from vitrina.pipeline.queue import Queue, QueuePolicy
from vitrina.pipeline.steps import StepContext, StepResult
from vitrina.pipeline.worker import Worker
from vitrina.storage.catalog.db import _alembic_config, transaction, upgrade
from vitrina.storage.catalog.models import Asset as AssetRow
from vitrina.storage.catalog.models import StepRun
from vitrina.testing import make_runtime, process_all


@dataclass(frozen=True)
class Dial:
    """A toy step that does what the test tells it, one order at a time: report a
    fraction, crash (so the run is retried), or finish."""

    orders: queue.Queue
    name: str = "dial"
    version: str = "1"
    kind: str = "toy"
    requires: tuple[str, ...] = ("probe",)
    budget_seconds: float | None = None

    def run(self, ctx: StepContext) -> StepResult:
        while True:
            order = self.orders.get(timeout=30)
            if order == "crash":
                raise RuntimeError("the dial broke")
            if order == "done":
                return StepResult()
            ctx.progress(order)


def note(tmp_path, text: str = "a note") -> Path:
    path = tmp_path / "note.toy"
    path.write_bytes(MAGIC + text.encode())
    return path


def dial_run(rt, asset_id: str) -> StepRun:
    with rt.sessions() as s:
        return s.scalar(select(StepRun).where(StepRun.asset_id == asset_id, StepRun.step == "dial"))


def show(api: TestClient, asset_id: str) -> dict:
    return {s["step"]: s for s in api.get(f"/v1/assets/{asset_id}").json()["steps"]}["dial"]


def wait_for(read: Callable[[], Any], until: Callable[[Any], bool], seconds: float = 10) -> Any:
    deadline = time.monotonic() + seconds
    while not until(seen := read()):
        assert time.monotonic() < deadline, f"still {seen}"
        time.sleep(0.05)
    return seen


def shown_by_the_cli(settings, asset_id: str, monkeypatch) -> tuple[dict, str]:
    import os

    for name in [n for n in os.environ if n.startswith("VITRINA_")]:
        monkeypatch.delenv(name)
    env = {"VITRINA_DEV": "1", "VITRINA_DATA_DIR": str(settings.data_dir),
           "VITRINA_DATABASE_URL": settings.database_url}
    result = CliRunner().invoke(main, ["assets", "show", asset_id], env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout), result.stderr


def test_progress_and_eta_while_running_reset_on_retry_and_one_when_done(tmp_path, database_url, monkeypatch):
    settings = make_settings(tmp_path, database_url)  # 5 s leases: a heartbeat every 1.7 s
    orders: queue.Queue = queue.Queue()
    rt = make_runtime(settings, kinds=[ToyKind()], steps=[Dial(orders)])
    asset_id = rt.ingestor.ingest_file(note(tmp_path)).asset_id
    worker = threading.Thread(target=Worker(rt, "w").run_until_idle, daemon=True)
    worker.start()
    with TestClient(create_app(settings, start_workers=False, runtime=rt)) as api:
        def read() -> dict:
            return show(api, asset_id)

        step = wait_for(read, lambda s: s["state"] == "running")
        assert (step["progress"], step["eta_seconds"]) == (None, None)  # nothing reported yet

        orders.put(-0.5)  # clamped: nothing done yet, and no estimate from nothing
        step = wait_for(read, lambda s: s["progress"] is not None)
        assert (step["progress"], step["eta_seconds"]) == (0.0, None)

        started = dial_run(rt, asset_id).started_at
        time.sleep(max(0.0, 1.0 - (datetime.now(UTC) - started).total_seconds()))
        orders.put(0.25)
        wait_for(read, lambda s: s["progress"] == 0.25)
        before = datetime.now(UTC)
        step = read()
        after = datetime.now(UTC)
        # a quarter done after `elapsed`: three times as long to go
        low, high = (3 * (t - started).total_seconds() for t in (before, after))
        assert round(low) <= step["eta_seconds"] <= round(high) and step["eta_seconds"] >= 3
        sdk = {s.step: s for s in Asset.from_json(api.get(f"/v1/assets/{asset_id}").json()).steps}["dial"]
        assert (sdk.progress, sdk.eta_seconds is not None) == (0.25, True)

        quarter_at = dial_run(rt, asset_id).progress_at
        orders.put(0.5)
        orders.put(0.2)  # going back is ignored
        wait_for(read, lambda s: s["progress"] == 0.5)
        half = dial_run(rt, asset_id)
        assert (half.progress_at - quarter_at).total_seconds() >= 0.9  # at most one write a second
        # with no news, heartbeats extend the lease and leave the progress as it was
        beat = wait_for(lambda: dial_run(rt, asset_id), lambda r: r.heartbeat_at > half.heartbeat_at)
        assert (beat.progress, beat.progress_at) == (0.5, half.progress_at)

        shown, told = shown_by_the_cli(settings, asset_id, monkeypatch)
        eta = {s["step"]: s for s in shown["steps"]}["dial"]["eta_seconds"]
        assert told.strip() == f"dial  running  50%  eta {eta} s" and eta >= 1

        orders.put("crash")  # retried at once (no back-off in tests): attempt 2 starts from null
        step = wait_for(read, lambda s: s["attempts"] == 2 and s["state"] == "running")
        assert (step["progress"], step["eta_seconds"]) == (None, None)
        assert (dial_run(rt, asset_id).progress, dial_run(rt, asset_id).progress_at) == (None, None)

        orders.put(0.9)
        wait_for(read, lambda s: s["progress"] == 0.9)
        orders.put("done")
        step = wait_for(read, lambda s: s["state"] == "done")
        assert (step["progress"], step["eta_seconds"], step["attempts"]) == (1.0, None, 2)
        probe = {s["step"]: s for s in api.get(f"/v1/assets/{asset_id}").json()["steps"]}["probe"]
        assert probe["progress"] == 1.0  # done at ingest, done all the same
    worker.join(10)
    with rt.sessions() as s:
        assert s.get(AssetRow, asset_id).status == "ready"
    rt.close()


def test_a_worker_whose_lease_was_taken_cannot_write_progress(tmp_path, database_url):
    settings = make_settings(tmp_path, database_url)
    rt = make_runtime(settings, kinds=[ToyKind()], steps=[Dial(queue.Queue())])
    asset_id = rt.ingestor.ingest_file(note(tmp_path)).asset_id
    q = Queue(rt.sessions, QueuePolicy(lease_seconds=0.2), rt.pipelines)
    (slow,) = q.claim("slow-worker")
    assert q.heartbeat(slow, 0.4)
    assert dial_run(rt, asset_id).progress == 0.4
    time.sleep(0.3)  # its lease runs out: another worker takes the run over
    (fast,) = q.claim("fast-worker")
    assert (fast.run_id, fast.attempts) == (slow.run_id, 2)
    assert dial_run(rt, asset_id).progress is None  # the new attempt starts from nothing

    assert not q.heartbeat(slow, 0.9)  # the old owner writes nothing, and hears it lost the run
    run = dial_run(rt, asset_id)
    assert (run.progress, run.progress_at, run.worker_id) == (None, None, "fast-worker")
    assert q.heartbeat(fast, 0.1)
    assert dial_run(rt, asset_id).progress == 0.1
    rt.close()


def test_a_worker_that_lost_its_run_writes_no_more_of_its_progress(tmp_path, database_url):
    settings = make_settings(tmp_path, database_url)
    orders: queue.Queue = queue.Queue()
    rt = make_runtime(settings, kinds=[ToyKind()], steps=[Dial(orders)])
    asset_id = rt.ingestor.ingest_file(note(tmp_path)).asset_id
    stalled = threading.Thread(target=Worker(rt, "stalled").run_once, daemon=True)
    stalled.start()
    wait_for(lambda: dial_run(rt, asset_id), lambda r: r.state == "running")
    orders.put(0.3)
    wait_for(lambda: dial_run(rt, asset_id), lambda r: r.progress == 0.3)
    # the catalog took it for dead (a long pause, a partition): another worker takes the run
    with transaction(rt.sessions) as s:
        s.execute(update(StepRun).where(StepRun.asset_id == asset_id, StepRun.step == "dial")
                  .values(lease_until=datetime.now(UTC) - timedelta(seconds=1)))
    assert [c.worker_id for c in rt.queue.claim("taker")] == ["taker"]
    orders.put(0.6)  # the stalled worker's step goes on and reports
    stalled.join(10)
    assert not stalled.is_alive()  # its next write found the run gone and it gave up
    run = dial_run(rt, asset_id)
    assert (run.worker_id, run.attempts, run.progress, run.progress_at) == ("taker", 2, None, None)
    orders.put("done")  # the stalled step ends unheard
    rt.close()


def test_0007_reads_runs_done_before_it_as_wholly_done(tmp_path, database_url):
    settings = make_settings(tmp_path, database_url)
    orders: queue.Queue = queue.Queue()
    rt = make_runtime(settings, kinds=[ToyKind()], steps=[Dial(orders)])
    asset_id = rt.ingestor.ingest_file(note(tmp_path)).asset_id
    command.downgrade(_alembic_config(rt.engine), "0006")
    upgrade(rt.engine)
    with rt.sessions() as s:
        runs = {r.step: r.progress for r in s.scalars(select(StepRun).where(StepRun.asset_id == asset_id))}
    assert runs == {"probe": 1.0, "dial": None}
    orders.put("done")
    process_all(rt)
    assert dial_run(rt, asset_id).progress == 1.0
    rt.close()
