"""Migration 0009 (backfill jobs) up, down and up again, on both catalogs."""

from __future__ import annotations

from alembic import command
from sqlalchemy import inspect

from vitrina.batch.jobs import BackfillJobs
from vitrina.storage.catalog.db import _alembic_config, current_revision, head_revision, upgrade


def test_0009_creates_and_drops_the_job_table(runtime) -> None:
    engine = runtime.engine
    assert "backfill_jobs" in inspect(engine).get_table_names()
    jobs = BackfillJobs(runtime.sessions)
    job_id = jobs.create(project="default", analysers=["phash"], force=False, engine="local",
                         options={"processes": 2}, total=3)
    with runtime.sessions() as s:
        jobs.advance(s, job_id, done=2, failed=1, written=4)
        s.commit()
    jobs.finish(job_id, "done")
    job = jobs.get(job_id)
    assert (job.state, job.done, job.failed, job.left, job.written, job.analysers) == ("done", 2, 1, 0, 4, ["phash"])
    assert job.started_at.tzinfo is not None and job.finished_at >= job.started_at

    command.downgrade(_alembic_config(engine), "0008")
    assert "backfill_jobs" not in inspect(engine).get_table_names()
    upgrade(engine)
    assert current_revision(engine) == head_revision() and jobs.list() == []
