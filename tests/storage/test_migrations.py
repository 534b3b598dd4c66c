"""Migrations that change data, on both catalogs."""

from __future__ import annotations

from alembic import command
from sqlalchemy import select, text

from tests.conftest import PHOTOS, process_all
from vitrina.pipeline.ingest import Ingestor
from vitrina.storage.catalog.db import _alembic_config, current_revision, head_revision, upgrade
from vitrina.storage.catalog.models import Asset, StepRun


def test_0003_drops_the_old_focus_step_and_frees_its_assets(runtime) -> None:
    waiting = Ingestor(runtime).ingest_file(PHOTOS / "astronaut.png").asset_id
    done = Ingestor(runtime).ingest_file(PHOTOS / "rocket.jpg").asset_id
    process_all(runtime)
    command.downgrade(_alembic_config(runtime.engine), "0002")
    # a catalog from before 0003: one asset still waits on `focus`, one has it done
    with runtime.engine.begin() as conn:
        for asset_id, state in ((waiting, "waiting"), (done, "done")):
            conn.execute(text("INSERT INTO step_runs (asset_id, step, version, state, attempts, "
                              "next_attempt_at, created_at) VALUES (:a, 'focus', '2', :s, 0, "
                              "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"), {"a": asset_id, "s": state})
        conn.execute(text("UPDATE assets SET status = 'processing' WHERE id = :a"), {"a": waiting})

    upgrade(runtime.engine)
    assert current_revision(runtime.engine) == head_revision()
    with runtime.sessions() as s:
        assert s.scalars(select(StepRun).where(StepRun.step == "focus")).all() == []
        assert {a.id: a.status for a in s.scalars(select(Asset))} == {waiting: "ready", done: "ready"}


def test_0004_keeps_todays_signals_current_and_gives_old_errors_a_code(runtime) -> None:
    asset_id = Ingestor(runtime).ingest_file(PHOTOS / "rocket.jpg").asset_id
    process_all(runtime)
    command.downgrade(_alembic_config(runtime.engine), "0003")
    # a catalog from before 0004: the signals step's version joined every analyser's
    with runtime.engine.begin() as conn:
        conn.execute(text("UPDATE step_runs SET version = 'preview@2,blurhash@2,phash@1,colors@1,"
                          "quality@1,focus@3' WHERE step = 'signals'"))
        conn.execute(text("UPDATE step_runs SET error = 'corrupt_media: damaged' WHERE step = 'probe'"))

    upgrade(runtime.engine)
    with runtime.sessions() as s:
        runs = {r.step: r for r in s.scalars(select(StepRun).where(StepRun.asset_id == asset_id))}
    assert runs["signals"].version == "preview@2"
    assert (runs["probe"].error_code, runs["derivatives"].error_code) == ("step_failed", None)
    from vitrina.pipeline.backfill import stale_counts

    assert stale_counts(runtime) == {}  # nothing to recompute after the upgrade
