"""What in-process workers do while there is no work."""

from __future__ import annotations

import os
import time

from tests.conftest import PHOTOS
from vitrina.pipeline.ingest import Ingestor
from vitrina.pipeline.worker import WorkerPool
from vitrina.storage.catalog.models import Asset


def upload_and_wait(runtime, pool: WorkerPool, done=lambda: True) -> str:
    """Upload a photo and wait (up to 20 s) until its asset is ready and ``done()`` holds."""
    asset_id = Ingestor(runtime, on_new_work=pool.poke).ingest_file(PHOTOS / "rocket.jpg").asset_id
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        with runtime.sessions() as s:
            if s.get(Asset, asset_id).status == "ready" and done():
                break
        time.sleep(0.05)
    return asset_id


def test_idle_pool_processes_uploads_and_sweeps_crashed_staging(runtime) -> None:
    with runtime.store.new_temp() as (live, _):
        crashed = live.with_name(live.name.replace(".part", "-crashed.part"))
    crashed.write_bytes(b"half an upload from a killed process")
    day_ago = time.time() - 2 * 24 * 3600
    os.utime(crashed, (day_ago, day_ago))

    pool = WorkerPool(runtime, threads=1)
    pool.start()
    try:
        asset_id = upload_and_wait(runtime, pool, done=lambda: not crashed.exists())
    finally:
        pool.shutdown()
    with runtime.sessions() as s:
        assert s.get(Asset, asset_id).status == "ready"
    assert not crashed.exists()


def test_failing_chores_do_not_stop_the_worker(runtime, monkeypatch) -> None:
    def broken(*_args, **_kwargs) -> int:
        raise OSError("staging directory unreadable")

    monkeypatch.setattr(runtime.store, "sweep_temp", broken)
    pool = WorkerPool(runtime, threads=1)
    pool.start()
    try:
        time.sleep(0.2)  # the first idle spell runs the chores, which fail
        asset_id = upload_and_wait(runtime, pool)
    finally:
        pool.shutdown()
    with runtime.sessions() as s:
        assert s.get(Asset, asset_id).status == "ready"
    assert all(not t.is_alive() for t in pool.threads)
