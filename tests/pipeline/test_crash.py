"""A worker killed with SIGKILL mid-step loses nothing: the step completes elsewhere
after the lease expires, with no duplicate derivative rows."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pyvips
from sqlalchemy import select

from tests.conftest import PHOTOS, ROOT
from vitrina.pipeline.ingest import Ingestor
from vitrina.pipeline.worker import Worker
from vitrina.storage.catalog.models import Asset, Derivative, StepRun


def test_sigkill_mid_step_then_completes_elsewhere(runtime, tmp_path):
    s = runtime.settings
    asset_id = Ingestor(runtime).ingest_file(PHOTOS / "astronaut.png").asset_id
    marker = tmp_path / "marker"
    env = dict(os.environ,
               VITRINA_DEV="1", VITRINA_DATA_DIR=str(s.data_dir), VITRINA_DATABASE_URL=s.database_url,
               VITRINA_PIPELINE__LEASE_SECONDS="2", VITRINA_PIPELINE__POLL_SECONDS="0.05",
               VITRINA_DERIVATIVES__FORMATS=json.dumps(s.derivatives.formats),
               VITRINA_PLUGINS=json.dumps(["tests.pipeline.pausing_plugin"]),
               VITRINA_TEST_MARKER=str(marker), PYTHONPATH=str(ROOT))
    proc = subprocess.Popen([sys.executable, "-m", "vitrina.cli", "worker"], env=env, cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.time() + 60
        while not marker.exists():
            assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
            assert time.time() < deadline, "the worker never reached the middle of the step"
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.stderr.close()

    with runtime.sessions() as db:
        run = db.scalar(select(StepRun).where(StepRun.asset_id == asset_id, StepRun.step == "derivatives"))
        assert (run.state, run.attempts) == ("running", 1)
        assert db.scalars(select(Derivative)).all() == []  # nothing half-written in the catalog

    survivor = Worker(runtime, "survivor")
    deadline = time.time() + 30
    while True:
        survivor.run_until_idle()
        with runtime.sessions() as db:
            if db.get(Asset, asset_id).status == "ready":
                break
        assert time.time() < deadline, "the abandoned step was never taken over"
        time.sleep(0.2)

    with runtime.sessions() as db:
        run = db.scalar(select(StepRun).where(StepRun.asset_id == asset_id, StepRun.step == "derivatives"))
        rows = db.scalars(select(Derivative).where(Derivative.asset_id == asset_id)).all()
    assert (run.state, run.attempts, run.worker_id) == ("done", 2, "survivor")
    assert len(rows) == len({(d.width, d.format) for d in rows}) == 2
    for d in rows:
        img = pyvips.Image.new_from_buffer(runtime.store.read_bytes(d.blob_key), "")
        assert (img.width, img.height) == (d.width, d.height)
