"""Batch backfills on the local engine: only stale results are recomputed, a result
written twice is written once, a SIGKILLed backfill continues where it stopped and
ends with the catalog an uninterrupted run makes, and the job is visible in the API."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.batch.conftest import BUMPED, copy_catalog, settings_for
from tests.conftest import ROOT
from vitrina.api.app import create_app
from vitrina.batch.backfill import (
    BackfillRequest,
    backfill,
    chosen_analysers,
    count_stale,
    write_results,
)
from vitrina.batch.jobs import BackfillJobs
from vitrina.runtime import Runtime
from vitrina.storage.catalog.db import transaction
from vitrina.storage.catalog.models import Signal


def signals_of(rt) -> dict:
    with rt.sessions() as s:
        return {(r.asset_id, r.name): (r.producer, r.version, json.dumps(r.value, sort_keys=True), r.created_at)
                for r in s.scalars(select(Signal))}


def without_times(signals: dict) -> dict:
    return {k: v[:3] for k, v in signals.items()}


def test_only_stale_results_are_recomputed_once(catalog_template, tmp_path):
    data = copy_catalog(catalog_template, tmp_path)
    before = signals_of(rt0 := Runtime(settings_for(data)))
    rt0.close()
    rt = Runtime(settings_for(data, BUMPED))
    try:
        analysers = chosen_analysers(rt, None)
        assert count_stale(rt, analysers) == 48
        assert count_stale(rt, chosen_analysers(rt, ["phash"])) == 48
        request = BackfillRequest(("phash", "colors"), processes=2, batch_size=8)
        summary = backfill(rt, request)
        assert (summary.assets, summary.written, summary.failed) == (48, 96, 0)
        assert summary.job.state == "done" and (summary.job.done, summary.job.left) == (48, 0)
        after = signals_of(rt)
        for key, value in after.items():
            bumped = key[1] in ("phash", "colors")
            assert (value[1] == before[key][1] + ".1") is bumped
            if not bumped:
                assert value == before[key]  # untouched, not even rewritten
        # nothing left of those two; the other three are still stale
        assert count_stale(rt, chosen_analysers(rt, ["phash", "colors"])) == 0
        again = backfill(rt, request)
        assert (again.assets, again.written) == (0, 0) and signals_of(rt) == after

        # writing the same results again changes nothing (no row rewritten, same created_at)
        asset_id = next(iter(after))[0]
        results = [(name, p, v, json.loads(val)) for (a, name), (p, v, val, _) in after.items() if a == asset_id]
        with transaction(rt.sessions) as s:
            assert write_results(s, asset_id, results) == 0
        assert signals_of(rt) == after
    finally:
        rt.close()


def test_a_forced_backfill_rewrites_current_results(catalog_template, tmp_path):
    data = copy_catalog(catalog_template, tmp_path)
    rt = Runtime(settings_for(data))
    try:
        before = signals_of(rt)
        summary = backfill(rt, BackfillRequest(("blurhash",), force=True, processes=1, batch_size=16))
        assert (summary.assets, summary.written) == (48, 48)
        after = signals_of(rt)
        for key in before:
            if key[1] == "blurhash":
                assert after[key][:3] == before[key][:3] and after[key][3] > before[key][3]
            else:
                assert after[key] == before[key]
        with pytest.raises(Exception, match="no analyser named 'nope'"):
            backfill(rt, BackfillRequest(("nope",)))
    finally:
        rt.close()


def test_an_analyser_failing_on_some_assets_fails_only_them(catalog_template, tmp_path, monkeypatch):
    data = copy_catalog(catalog_template, tmp_path)
    rt = Runtime(settings_for(data, BUMPED))
    try:
        monkeypatch.setenv("VITRINA_TEST_FAIL_NARROWER", "100")  # the pool's workers inherit it
        summary = backfill(rt, BackfillRequest(("quality", "phash"), processes=2, batch_size=12))
        narrow = summary.failed
        assert 0 < narrow < 48 and summary.job.state == "done"
        assert (summary.job.done, summary.job.failed, summary.written) == (48 - narrow, narrow, 2 * (48 - narrow))
        # a failed asset keeps its old results (phash too: an asset is written whole or not at all)
        assert count_stale(rt, chosen_analysers(rt, ["quality"])) == narrow
        assert count_stale(rt, chosen_analysers(rt, ["phash"])) == narrow
        monkeypatch.delenv("VITRINA_TEST_FAIL_NARROWER")
        again = backfill(rt, BackfillRequest(("quality", "phash"), processes=1))
        assert (again.assets, again.failed, again.written) == (narrow, 0, 2 * narrow)
    finally:
        rt.close()


def test_a_cancelled_backfill_stops_after_its_batch_and_resumes(catalog_template, tmp_path):
    from vitrina.batch.backfill import prepare, run_job

    data = copy_catalog(catalog_template, tmp_path)
    rt = Runtime(settings_for(data, BUMPED))
    try:
        request = BackfillRequest(("colors",), processes=1, batch_size=4)
        job, resumed = prepare(rt, request)
        jobs = BackfillJobs(rt.sessions)
        summary = run_job(rt, job, request, progress=lambda n: jobs.cancel(job.id))
        assert summary.job.state == "cancelled" and not resumed
        assert summary.assets == summary.job.done == 8  # the batch in hand when it was cancelled, then stop
        assert count_stale(rt, chosen_analysers(rt, ["colors"])) == 40
        job, resumed = prepare(rt, BackfillRequest(processes=1), resume=job.id)
        assert resumed and (job.state, job.total, job.done, job.left) == ("running", 48, 8, 40)
        summary = run_job(rt, job, request, resumed=True)
        assert (summary.assets, summary.job.state, summary.job.done) == (40, "done", 48)
        assert jobs.cancel(job.id).state == "done"  # a finished job stays finished
    finally:
        rt.close()


def _cli_env(data, **extra) -> dict:
    return dict(os.environ, VITRINA_DEV="1", VITRINA_DATA_DIR=str(data), VITRINA_DATABASE_URL="",
                VITRINA_DERIVATIVES__FORMATS='["jpeg"]', VITRINA_PLUGINS=json.dumps([BUMPED]),
                VITRINA_ANALYSIS__MODELS="[]", PYTHONPATH=str(ROOT), **extra)


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def test_a_killed_backfill_continues_where_it_stopped(catalog_template, tmp_path):
    # the reference: the same backfill, uninterrupted
    ref_data = copy_catalog(catalog_template, tmp_path / "ref")
    ref = Runtime(settings_for(ref_data, BUMPED))
    backfill(ref, BackfillRequest(processes=2, batch_size=4))
    expected = without_times(signals_of(ref))
    ref.close()

    data = copy_catalog(catalog_template, tmp_path / "killed")
    rt = Runtime(settings_for(data, BUMPED))
    jobs = BackfillJobs(rt.sessions)
    cmd = [sys.executable, "-m", "vitrina.cli", "batch", "backfill", "--processes", "2", "--batch-size", "4"]
    proc = subprocess.Popen(cmd, env=_cli_env(data, VITRINA_TEST_SLOW_SECONDS="0.05"), cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    try:
        # the service keeps answering beside it: the job's progress, an asset
        with TestClient(create_app(settings_for(data, BUMPED), start_workers=False)) as api:
            asset_id = api.get("/v1/assets?limit=1").json()["items"][0]["id"]
            deadline, seen = time.time() + 60, []
            while True:
                started = time.perf_counter()
                listed = api.get("/v1/batch/jobs").json()["items"]
                assert api.get(f"/v1/assets/{asset_id}").status_code == 200
                assert time.perf_counter() - started < 2.0  # never waits for the backfill
                if listed:
                    seen.append(listed[0]["done"])
                    if listed[0]["done"] >= 12:  # three batches committed
                        break
                assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
                assert time.time() < deadline, "the backfill never got going"
                time.sleep(0.05)
        running = listed[0]
        assert running["state"] == "running" and running["total"] == 48 and not running["stalled"]
        assert running["rate"] > 0 and running["eta_seconds"] is not None and seen == sorted(seen)
        listed = jobs.list()
        proc.send_signal(signal.SIGKILL)  # the driver, mid-way
        proc.wait(10)
        deadline = time.time() + 15
        while _group_alive(proc.pid):  # its pool's workers end by themselves
            assert time.time() < deadline, "the pool outlived its driver"
            time.sleep(0.1)
    finally:
        if _group_alive(proc.pid):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.stdout.close()
        proc.stderr.close()

    job = jobs.get(listed[0].id)
    assert job.state == "running" and job.stalled and job.eta_seconds is None
    assert 12 <= job.done < 48 and job.left == 48 - job.done
    kept = signals_of(rt)
    current = {k: v for k, v in kept.items() if v[1].endswith(".1")}
    done_assets = {a for a, _ in current}
    # progress is committed with the results: every asset counted done has all five results
    assert len(done_assets) == job.done and len(current) == 5 * job.done
    assert count_stale(rt, chosen_analysers(rt, None)) == 48 - job.done

    # the same command again adopts the interrupted job and does only what is left
    out = subprocess.run(cmd, check=False, env=_cli_env(data), cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert f"resuming backfill {job.id}: {48 - job.done} of 48 assets left" in out.stderr
    assert f"backfill {job.id} done: {48 - job.done} assets, {5 * (48 - job.done)} results written" in out.stdout
    final = signals_of(rt)
    assert without_times(final) == expected
    assert all(final[k] == v for k, v in current.items())  # results made before the kill: not redone
    job = jobs.get(job.id)
    assert (job.state, job.total, job.done, job.left, job.failed) == ("done", 48, 48, 0, 0)
    rt.close()


def test_every_batch_command_explains_itself():
    from click.testing import CliRunner

    from vitrina.cli import main

    for command in ("backfill", "jobs", "cancel", "export"):
        out = CliRunner().invoke(main, ["batch", command, "--help"])
        assert out.exit_code == 0 and len(out.output.split("Options:")[0]) > 60, out.output
    out = CliRunner().invoke(main, ["batch", "backfill", "--stale", "--all"])
    assert out.exit_code == 2 and "contradict" in out.output


def test_the_api_shows_jobs_to_admins(catalog_template, tmp_path):
    from vitrina.access.keys import create_key

    data = copy_catalog(catalog_template, tmp_path)
    rt = Runtime(settings_for(data, BUMPED))
    summary = backfill(rt, BackfillRequest(("phash",), processes=1, project="default"))
    whole = BackfillJobs(rt.sessions).create(project=None, analysers=None, force=False, engine="local",
                                             options={}, total=10)
    rt.close()
    settings = settings_for(data, BUMPED, dev=False, signing={"keys": {"k1": "a-long-random-signing-secret"}})
    app = create_app(settings, start_workers=False)
    with TestClient(app) as c:
        sessions = app.state.runtime.sessions
        admin = {"X-API-Key": create_key(sessions, "admin", ["admin"])}
        reader = {"X-API-Key": create_key(sessions, "reader", ["read"])}
        both = {"X-API-Key": create_key(sessions, "root", ["admin", "org"])}
        r = c.get("/v1/batch/jobs", headers=admin)
        assert r.status_code == 200
        assert [j["id"] for j in r.json()["items"]] == [summary.job.id]  # its project's only
        j = c.get(f"/v1/batch/jobs/{summary.job.id}", headers=admin).json()
        assert {k: j[k] for k in ("state", "total", "done", "failed", "left", "written", "eta_seconds")} == {
            "state": "done", "total": 48, "done": 48, "failed": 0, "left": 0, "written": 48, "eta_seconds": None}
        assert j["rate"] > 0 and j["analysers"] == ["phash"] and j["engine"] == "local"
        assert [x["id"] for x in c.get("/v1/batch/jobs", headers=both).json()["items"]] == [whole, summary.job.id]
        running = c.get(f"/v1/batch/jobs/{whole}", headers=both).json()
        assert running["state"] == "running" and running["stalled"] is False and running["left"] == 10
        for path in (f"/v1/batch/jobs/{whole}", "/v1/batch/jobs/nope", "/v1/batch/jobs/" + "f" * 40):
            r = c.get(path, headers=admin)
            assert r.status_code == 404 and r.json()["error"]["code"] == "backfill_job_not_found"
        r = c.get("/v1/batch/jobs", headers=reader)
        assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
        assert c.get("/v1/batch/jobs").status_code == 401


def test_a_model_shaped_analyser_gets_its_own_batch_size_and_big_vectors(catalog_template, tmp_path):
    from vitrina.search.vectors import decode_vector

    data = copy_catalog(catalog_template, tmp_path)
    rt = Runtime(settings_for(data, "tests.batch.embedder"))
    try:
        assert count_stale(rt, chosen_analysers(rt, None)) == 48  # new: every asset lacks it
        summary = backfill(rt, BackfillRequest(processes=2, batch_size=16))
        assert (summary.assets, summary.written, summary.failed) == (48, 48, 0)
        with rt.sessions() as s:
            rows = s.scalars(select(Signal).where(Signal.name == "fake_embedding")).all()
        assert {r.producer for r in rows} == {"fake-net@1"} and len(rows) == 48
        assert max(r.value["batch"] for r in rows) == 3  # tasks of 16, calls of at most 3
        assert {decode_vector(r.value["embedding"]).shape for r in rows} == {(1280,)}
    finally:
        rt.close()
