"""The claim-based queue: exclusive claims, leases, retries, failure, staleness."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import pytest
from sqlalchemy import select

from tests.conftest import PHOTOS, make_settings, process_all
from vitrina.errors import ConfigError
from vitrina.kinds.image.steps import DerivativesStep, ProbeStep
from vitrina.pipeline.backfill import requeue_stale, stale_counts
from vitrina.pipeline.ingest import Ingestor
from vitrina.pipeline.queue import Queue, QueuePolicy
from vitrina.pipeline.steps import Facts, StepResult
from vitrina.storage.catalog.models import Asset, Derivative, StepRun
from vitrina.testing import make_registries, make_runtime


def ingest(rt, name: str) -> str:
    return Ingestor(rt).ingest_file(PHOTOS / name).asset_id


def test_dag_order_and_claims_are_exclusive(runtime):
    ids = [ingest(runtime, n) for n in ("astronaut.png", "coffee.png", "rocket.jpg", "chelsea.png")]
    # ingest recorded the probe it validated with; only its dependents are claimable
    with runtime.sessions() as s:
        states = {(r.asset_id, r.step): r.state for r in s.scalars(select(StepRun))}
        astronaut = s.get(Asset, ids[0])
        probe_run = s.scalar(select(StepRun).where(StepRun.asset_id == ids[0], StepRun.step == "probe"))
    assert {k[1]: v for k, v in states.items() if k[0] == ids[0]} == {
        "probe": "done", "derivatives": "pending", "signals": "waiting"}
    assert (astronaut.width, astronaut.height, astronaut.meta["format"]) == (512, 512, "png")
    assert probe_run.attempts == 1 and probe_run.duration_ms > 0 and probe_run.finished_at is not None

    claimed: list = []
    lock = threading.Lock()

    def claimer(i: int) -> None:
        for _ in range(10):
            got = runtime.queue.claim(f"w{i}")
            with lock:
                claimed.extend(got)

    threads = [threading.Thread(target=claimer, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(c.run_id for c in claimed) == sorted({c.run_id for c in claimed})  # nobody got one twice
    assert {c.step for c in claimed} == {"derivatives"} and len(claimed) == 4


def test_expired_lease_is_claimed_again_and_late_results_are_dropped(runtime):
    ingest(runtime, "coffee.png")
    q = Queue(runtime.sessions, QueuePolicy(lease_seconds=0.2, max_attempts=3), runtime.pipelines)
    (first,) = q.claim("dead-worker")
    assert q.claim("other") == []  # leased
    time.sleep(0.3)
    (second,) = q.claim("other")
    assert second.run_id == first.run_id and second.attempts == 2
    assert q.heartbeat(first) is False  # the dead worker lost it
    derivatives = runtime.pipelines.step("image", "derivatives")
    assert q.complete(first, derivatives, StepResult(facts=Facts(width=1))) == (False, None)
    recorded, follow = q.complete(second, derivatives, StepResult(facts=Facts(width=600)))
    assert recorded and follow is not None and follow.step == "signals"  # chained to the next step
    with runtime.sessions() as s:
        assert s.scalar(select(Asset.width)) == 600


@dataclass(frozen=True)
class Flaky:
    name: str = "flaky"
    version: str = "1"
    kind: str = "image"
    requires: tuple = ("probe",)
    budget_seconds: float | None = None

    def run(self, ctx):
        raise RuntimeError(f"boom on attempt {ctx.attempt}")


def test_retries_with_backoff_then_failed_keeps_the_error(settings, caplog):
    runtime = make_runtime(settings, steps=[Flaky()])
    asset_id = ingest(runtime, "coffee.png")
    process_all(runtime)
    with runtime.sessions() as s:
        run = s.scalar(select(StepRun).where(StepRun.step == "flaky"))
        asset = s.get(Asset, asset_id)
    assert run.state == "failed" and run.attempts == runtime.settings.pipeline.max_attempts
    # clients get a stable code and a public message; the exception text goes to the log only
    assert run.error_code == "step_crashed" and "boom" not in run.error
    assert "boom on attempt 5" in caplog.text
    assert asset.status == "failed" and "flaky" in asset.error and "boom" not in asset.error
    runtime.close()


def test_backoff_delays_the_retry(tmp_path, database_url):
    runtime = make_runtime(make_settings(tmp_path, database_url, pipeline={
        "lease_seconds": 5, "max_attempts": 3, "retry_base_seconds": 60}), steps=[Flaky()])
    ingest(runtime, "coffee.png")
    process_all(runtime)
    with runtime.sessions() as s:
        run = s.scalar(select(StepRun).where(StepRun.step == "flaky"))
    assert run.state == "pending" and run.attempts == 1  # waiting ~60 s before attempt 2
    assert runtime.queue.claim("x") == []
    runtime.close()


def test_bad_media_fails_at_once_without_retries(runtime):
    asset_id = ingest(runtime, "coffee.png")
    # replace the stored original with garbage behind the catalog's back
    with runtime.sessions() as s:
        key = s.get(Asset, asset_id).original.blob_key
    runtime.store.put_bytes(key, b"\x89PNG\r\n\x1a\n" + b"\x00" * 100)
    process_all(runtime)
    with runtime.sessions() as s:
        run = s.scalar(select(StepRun).where(StepRun.step == "derivatives"))
    assert run.state == "failed" and run.attempts == 1 and run.error_code == "corrupt_media"


def test_version_bump_marks_stale_and_backfill_reruns(runtime):
    asset_id = ingest(runtime, "rocket.jpg")
    process_all(runtime)
    assert stale_counts(runtime) == {}
    with runtime.sessions() as s:
        made = len(s.scalars(select(Derivative.id)).all())
    assert made >= 2
    bumped = make_runtime(runtime.settings, replace_steps=[DerivativesStep(version="2")])
    assert stale_counts(bumped) == {"derivatives": 1}
    assert requeue_stale(bumped) == 1
    with bumped.sessions() as s:
        assert s.get(Asset, asset_id).status == "processing"
    process_all(bumped)
    with bumped.sessions() as s:
        versions = set(s.scalars(select(Derivative.version).where(Derivative.asset_id == asset_id)))
        count = len(s.scalars(select(Derivative.id)).all())
        assert s.get(Asset, asset_id).status == "ready"
    assert versions == {"2"} and count == made  # replaced, not duplicated
    assert stale_counts(bumped) == {}
    bumped.close()


def test_duplicate_step_names_are_refused():
    with pytest.raises(ConfigError, match="registered twice"):
        make_registries(steps=[ProbeStep()])


@dataclass(frozen=True)
class Tagger:
    name: str
    version: str = "1"
    kind: str = "image"
    requires: tuple = ("derivatives",)
    budget_seconds: float | None = None

    def run(self, ctx):
        return StepResult(facts=Facts(meta={"tagged": self.name}))


def test_fan_out_follows_one_branch_and_queues_the_others(settings):
    runtime = make_runtime(settings, steps=[Tagger("tag_a"), Tagger("tag_b")])
    asset_id = ingest(runtime, "rocket.jpg")
    (claim,) = runtime.queue.claim("w")
    assert claim.step == "derivatives"
    step = runtime.pipelines.step("image", claim.step)
    recorded, follow = runtime.queue.complete(claim, step, StepResult())
    with runtime.sessions() as s:
        states = {r.step: r.state for r in s.scalars(select(StepRun))}
        status = s.get(Asset, asset_id).status
    # signals, tag_a and tag_b all wait on derivatives: one is this worker's, two are claimable
    assert recorded and follow is not None and states[follow.step] == "running"
    assert sorted(v for k, v in states.items() if k in {"signals", "tag_a", "tag_b"}) == [
        "pending", "pending", "running"]
    assert status == "processing"
    followed = runtime.pipelines.step("image", follow.step)
    assert runtime.queue.complete(follow, followed, StepResult()) == (True, None)
    assert process_all(runtime) == 2
    with runtime.sessions() as s:
        assert s.get(Asset, asset_id).status == "ready"
    runtime.close()
