"""A worker killed mid-transcode loses nothing: a real `vitrina worker` process is
SIGKILLed (with its ffmpeg) once the renditions step reports progress, and another
worker takes the run over when the lease runs out and finishes it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import av
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.conftest import ROOT, VIDEO
from vitrina.api.app import create_app
from vitrina.pipeline.worker import Worker
from vitrina.storage.catalog.models import Asset, Derivative, StepRun

LEASE_SECONDS = 2
SOURCE = VIDEO / "bigbuckbunny.mp4"  # 1280x720, 5 s: a transcode of a few seconds


def start_worker(settings, tmp_path) -> subprocess.Popen:
    """`vitrina worker` on the test's catalog, with short leases, in a session of its own
    so that its ffmpeg dies with it, as on a machine that lost power."""
    scratch = tmp_path / "worker-tmp"  # what the killed worker leaves behind stays in the test
    scratch.mkdir()
    env = dict(os.environ,
               VITRINA_DEV="1", VITRINA_DATA_DIR=str(settings.data_dir),
               VITRINA_DATABASE_URL=settings.database_url,
               VITRINA_PIPELINE__LEASE_SECONDS=str(LEASE_SECONDS), VITRINA_PIPELINE__POLL_SECONDS="0.05",
               VITRINA_DERIVATIVES__FORMATS=json.dumps(settings.derivatives.formats),
               VITRINA_ANALYSIS__MODELS=json.dumps(settings.analysis.models),  # the same pipeline
               TMPDIR=str(scratch), PYTHONPATH=str(ROOT))
    return subprocess.Popen([sys.executable, "-m", "vitrina.cli", "worker"], env=env, cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)


def renditions_step(api: TestClient, asset_id: str) -> dict:
    return {s["step"]: s for s in api.get(f"/v1/assets/{asset_id}").json()["steps"]}["renditions"]


def test_a_worker_killed_mid_transcode_is_taken_over_and_the_video_finishes(runtime, tmp_path):
    asset_id = runtime.ingestor.ingest_file(SOURCE).asset_id
    proc = start_worker(runtime.settings, tmp_path)
    with TestClient(create_app(runtime.settings, start_workers=False, runtime=runtime)) as api:
        try:
            deadline = time.monotonic() + 40
            while not (step := renditions_step(api, asset_id))["progress"]:
                assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
                assert time.monotonic() < deadline, f"the transcode never reported progress: {step}"
                time.sleep(0.1)
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(10)
            proc.stderr.close()
        assert step["state"] == "running" and step["attempts"] == 1
        assert 0 < step["progress"] < 1 and step["eta_seconds"] is not None and step["eta_seconds"] >= 0

        with runtime.sessions() as db:
            run = db.scalar(select(StepRun).where(StepRun.asset_id == asset_id, StepRun.step == "renditions"))
            made = db.scalars(select(Derivative).where(Derivative.asset_id == asset_id,
                                                       Derivative.producer == "renditions")).all()
        assert (run.state, run.attempts) == ("running", 1) and run.progress > 0
        assert made == []  # nothing half-written in the catalog

        survivor = Worker(runtime, "survivor")
        deadline = time.monotonic() + 40
        while True:  # the run is claimable again once the dead worker's lease is over
            survivor.run_until_idle()
            with runtime.sessions() as db:
                if db.get(Asset, asset_id).status in ("ready", "failed"):
                    break
            assert time.monotonic() < deadline, "the abandoned transcode was never taken over"
            time.sleep(0.2)
        step = renditions_step(api, asset_id)
        assert api.get(f"/v1/assets/{asset_id}").json()["status"] == "ready"

    assert (step["state"], step["attempts"], step["progress"], step["eta_seconds"]) == ("done", 2, 1.0, None)
    with runtime.sessions() as db:
        run = db.scalar(select(StepRun).where(StepRun.asset_id == asset_id, StepRun.step == "renditions"))
        made = db.scalars(select(Derivative).where(Derivative.asset_id == asset_id,
                                                   Derivative.producer == "renditions")).all()
    assert run.worker_id == "survivor"
    mp4s = [d for d in made if d.format == "mp4"]
    assert len(made) == len({d.blob_key for d in made}) and {(d.width, d.height) for d in mp4s} == {
        (1280, 720), (854, 480), (640, 360)}
    with av.open(str(SOURCE)) as c:
        seconds, frames = c.duration, c.streams.video[0].frames
    for d in mp4s:  # each rendition whole: as long as the source, every frame decodable
        with av.open(str(runtime.store.local_path(d.blob_key))) as c:
            video = c.streams.video[0]
            assert (video.codec_context.width, video.codec_context.height) == (d.width, d.height)
            assert abs(c.duration - seconds) / av.time_base < 0.1
            assert sum(1 for _ in c.decode(video)) == video.frames == frames
