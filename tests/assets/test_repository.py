"""The asset repository on both catalogs: records, pages, snapshots, ingest writes,
deletes; statuses and step states read back as their enums."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from tests.conftest import PHOTOS, process_all
from vitrina.assets.records import AssetRecord, DerivativeRecord, Rendition
from vitrina.assets.repository import AssetRepository
from vitrina.assets.statements import FOCUS_SIGNAL
from vitrina.assets.states import AssetStatus, StepState
from vitrina.errors import InvalidInput
from vitrina.ids import new_id
from vitrina.pipeline.ingest import Ingestor
from vitrina.storage.catalog.db import transaction
from vitrina.storage.catalog.models import (
    Asset,
    Derivative,
    IdempotencyKey,
    Original,
    Signal,
    StepRun,
)
from vitrina.storage.catalog.projects import DEFAULT_PROJECT as P


def ingest(rt, name: str = "astronaut.png", **kw) -> str:
    return Ingestor(rt).ingest_file(PHOTOS / name, **kw).asset_id


@pytest.fixture
def repo(runtime) -> AssetRepository:
    return AssetRepository(runtime.sessions)


def test_get_reads_every_part_of_a_processed_asset(runtime, repo):
    asset_id = ingest(runtime)
    process_all(runtime)
    a = repo.get(P, asset_id)
    assert isinstance(a, AssetRecord) and a.id == asset_id
    assert a.status is AssetStatus.READY and a.status == "ready"
    assert (a.kind, a.mime, a.filename, a.width, a.height) == ("image", "image/png", "astronaut.png", 512, 512)
    data = (PHOTOS / "astronaut.png").read_bytes()
    assert (a.sha256, a.size_bytes) == (hashlib.sha256(data).hexdigest(), len(data))
    assert runtime.store.read_bytes(a.blob_key) == data
    assert a.meta["format"] == "png" and a.error is None
    assert a.created_at.utcoffset() is not None and a.updated_at >= a.created_at
    # derivatives by width then format, as the API lists them
    assert [(d.width, d.format) for d in a.derivatives] == [(320, "jpeg"), (320, "webp")]
    assert all(runtime.store.exists(d.blob_key) and d.version for d in a.derivatives)
    assert [d.name for d in a.derivatives] == ["320.jpeg", "320.webp"]
    # signals by name, each with its producer and version
    assert list(a.signals) == sorted(a.signals) and {"blurhash", "phash", FOCUS_SIGNAL} <= set(a.signals)
    assert a.signals["phash"].producer == "phash" and len(a.signals["phash"].value["hash"]) == 16
    assert [s.state for s in a.steps] == [StepState.DONE] * len(a.steps)
    assert [s.step for s in a.steps][:2] == ["probe", "derivatives"] and a.steps[0].attempts == 1


def test_get_of_an_unknown_id_is_none(repo):
    assert repo.get(P, new_id()) is None


def test_pages_newest_first_with_filters_and_cursor(runtime, repo):
    ids = [ingest(runtime, n) for n in ("astronaut.png", "coffee.png", "rocket.jpg")]
    first = repo.page(P, limit=2)
    assert [a.id for a in first.items] == ids[::-1][:2] and first.next_cursor
    second = repo.page(P, limit=2, cursor=first.next_cursor)
    assert [a.id for a in second.items] == [ids[0]] and second.next_cursor is None
    assert [a.id for a in repo.page(P, limit=3).items] == ids[::-1] and repo.page(P, limit=3).next_cursor is None
    assert [a.id for a in repo.page(P, mime="image/jpeg").items] == [ids[2]]
    assert [a.id for a in repo.page(P, kind="image", mime="image/png", limit=1).items] == [ids[1]]
    assert repo.page(P, kind="video").items == ()
    assert repo.page(P, status=AssetStatus.READY).items == ()
    pending = repo.page(P, status=AssetStatus.PENDING)
    assert [a.id for a in pending.items] == ids[::-1]
    assert all(a.steps and not a.derivatives for a in pending.items)  # each with its own parts
    # filters and the cursor combine
    both = repo.page(P, mime="image/png", limit=1)
    assert [a.id for a in repo.page(P, mime="image/png", cursor=both.next_cursor).items] == [ids[0]]
    assert repo.page(P, cursor="").items == repo.page(P).items  # empty: the first page
    for bad in ("nope", "!!!", "bm9wZQ==", "A" * 200):
        with pytest.raises(InvalidInput) as err:
            repo.page(P, cursor=bad)
        assert err.value.code == "invalid_cursor"


def test_snapshot_is_what_a_step_reads(runtime, repo):
    asset_id = ingest(runtime)
    before = repo.snapshot(None, asset_id)
    assert (before.id, before.kind, before.mime, before.width, before.height) == (
        asset_id, "image", "image/png", 512, 512)
    assert before.derivatives == () and before.meta["format"] == "png"
    process_all(runtime)
    with runtime.sessions() as s:
        after = repo.snapshot(s, asset_id)
    assert after.blob_key == before.blob_key and after.sha256 == before.sha256
    assert all(isinstance(d, DerivativeRecord) for d in after.derivatives)
    with runtime.sessions() as s:
        made = s.execute(select(Derivative.blob_key).where(Derivative.asset_id == asset_id)
                         .order_by(Derivative.id)).scalars().all()
    assert [d.blob_key for d in after.derivatives] == made  # in the order they were made
    assert repo.snapshot(None, new_id()) is None


def test_source_facts_for_delivery(runtime, repo):
    asset_id = ingest(runtime, "rocket.jpg")
    facts = repo.source_facts(asset_id)
    assert (facts.kind, facts.mime, facts.width, facts.height) == ("image", "image/jpeg", 640, 427)
    assert facts.focus is None and facts.renditions == ()
    process_all(runtime)
    facts = repo.source_facts(asset_id)
    stored = repo.get(P, asset_id).signals[FOCUS_SIGNAL]
    assert facts.focus == stored and facts.focus.producer and facts.focus.version
    jpeg = [d for d in repo.get(P, asset_id).derivatives if d.format == "jpeg"]
    assert facts.renditions == tuple(Rendition(d.width, d.height, d.blob_key) for d in jpeg)
    assert facts.renditions and all(isinstance(r, tuple) for r in facts.renditions)
    assert repo.source_facts(new_id()) is None


def test_ingest_writes(runtime, repo):
    data = b"not really an image"
    sha = hashlib.sha256(data).hexdigest()
    asset_id = new_id()
    runtime.store.put_bytes(f"originals/{sha}", data)
    assert repo.find_by_sha256(P, sha) is None
    now = datetime.now(UTC)
    pin = {"now": now, "until": now + timedelta(hours=1)}
    repo.pin_original(sha, size_bytes=len(data), mime="image/png", blob_key=f"originals/{sha}", **pin)
    with transaction(runtime.sessions) as s:
        repo.insert_asset(s, project=P, asset_id=asset_id, sha256=sha, kind="image", mime="image/png",
                          filename="x.png", size_bytes=len(data), pinned_until=pin["until"],
                          idempotency_key="order-1")
    assert repo.find_by_sha256(P, sha) == asset_id
    a = repo.get(P, asset_id)
    assert a.status is AssetStatus.PENDING and (a.width, a.height, a.meta) == (None, None, {})
    assert a.steps == () and a.blob_key == f"originals/{sha}"
    prior = repo.idempotency(P, "order-1")
    assert (prior.sha256, prior.asset_id) == (sha, asset_id)
    assert repo.idempotency(P, "order-2") is None
    assert repo.record_idempotency(P, "order-2", sha, asset_id) is True
    assert repo.record_idempotency(P, "order-2", sha, asset_id) is False  # a concurrent retry's
    assert repo.idempotency(P, "order-2").asset_id == asset_id
    # the same bytes under a second id: the catalog refuses the twin
    with pytest.raises(IntegrityError), transaction(runtime.sessions) as s:
        repo.insert_asset(s, project=P, asset_id=new_id(), sha256=sha, kind="image", mime="image/png",
                          filename=None, size_bytes=len(data), pinned_until=pin["until"])
    assert repo.page(P).items[0].id == asset_id and len(repo.page(P).items) == 1


def _rows(rt, asset_id: str, sha256: str) -> dict[str, int]:
    with rt.sessions() as s:
        counts = {
            m.__tablename__: s.scalar(select(func.count()).select_from(m).where(m.asset_id == asset_id))
            for m in (Derivative, Signal, StepRun, IdempotencyKey)
        }
        counts["assets"] = s.scalar(select(func.count()).select_from(Asset).where(Asset.id == asset_id))
        counts["originals"] = s.scalar(select(func.count()).select_from(Original)
                                       .where(Original.sha256 == sha256))
    return counts


def test_delete_removes_every_row_in_one_go(runtime, repo):
    asset_id = ingest(runtime, idempotency_key="k-1")
    other = ingest(runtime, "coffee.png")
    process_all(runtime)
    sha = repo.get(P, asset_id).sha256
    assert all(_rows(runtime, asset_id, sha).values())
    gone = repo.delete(P, asset_id)
    assert gone.id == asset_id and gone.derivatives and gone.status is AssetStatus.READY
    assert _rows(runtime, asset_id, sha) == dict.fromkeys(
        ("derivatives", "signals", "step_runs", "idempotency_keys", "assets"), 0) | {"originals": 1}
    assert repo.get(P, asset_id) is None and repo.delete(P, asset_id) is None
    assert repo.get(P, other).status is AssetStatus.READY  # the others stay
    # the repository removes rows only: the blobs are the service's to remove
    assert runtime.store.exists(gone.blob_key)
    # the original's row goes once nothing references it, its bytes handed to ``remove``
    removed: list[str] = []
    assert repo.collect(sha, datetime.now(UTC), removed.append) is True
    assert removed == [gone.blob_key] and _rows(runtime, asset_id, sha)["originals"] == 0
    assert repo.collect(sha, datetime.now(UTC), removed.append) is False


def test_statuses_and_states_round_trip(runtime, repo):
    assert [s.value for s in AssetStatus] == ["pending", "processing", "ready", "failed"]
    assert [s.value for s in StepState] == ["waiting", "pending", "running", "done", "failed"]
    assert AssetStatus("ready") is AssetStatus.READY and StepState("done") == "done"
    asset_id = ingest(runtime)
    for status in AssetStatus:
        with transaction(runtime.sessions) as s:  # an enum member is written as its string
            s.execute(update(Asset).where(Asset.id == asset_id).values(status=status))
        with runtime.sessions() as s:
            assert s.scalar(select(Asset.status).where(Asset.id == asset_id)) == status.value
        assert repo.get(P, asset_id).status is status
        assert [a.id for a in repo.page(P, status=status).items] == [asset_id]
    for state in StepState:
        with transaction(runtime.sessions) as s:
            s.execute(update(StepRun).where(StepRun.asset_id == asset_id).values(state=state.value))
        assert {r.state for r in repo.get(P, asset_id).steps} == {state}
