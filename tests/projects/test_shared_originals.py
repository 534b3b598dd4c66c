"""Originals are stored once across projects and outlive every asset that uses them,
also while one project deletes its asset as another uploads the same bytes."""

from __future__ import annotations

import hashlib
import threading

import pytest
from sqlalchemy import func, select

from tests.conftest import PHOTOS
from vitrina.errors import NotFound
from vitrina.storage.blobs import content_key
from vitrina.storage.catalog.db import transaction
from vitrina.storage.catalog.models import Asset, Original
from vitrina.storage.catalog.projects import DEFAULT_PROJECT as A
from vitrina.storage.catalog.projects import ProjectRow
from vitrina.testing import make_runtime

B = "team-b"
PHOTO = PHOTOS / "text.png"
SHA = hashlib.sha256(PHOTO.read_bytes()).hexdigest()
KEY = content_key("originals", SHA)


@pytest.fixture
def rt(settings):
    runtime = make_runtime(settings)
    with transaction(runtime.sessions) as s:
        s.add(ProjectRow(id=B, name="Team B", quotas={}))
    yield runtime
    runtime.close()


def originals(rt) -> int:
    with rt.sessions() as s:
        return s.scalar(select(func.count()).select_from(Original))


def assets_of(rt, project: str) -> list[str]:
    with rt.sessions() as s:
        return list(s.scalars(select(Asset.id).where(Asset.project_id == project)))


def test_two_projects_share_one_original_and_the_last_delete_removes_it(rt):
    a = rt.ingestor.ingest_file(PHOTO, project=A)
    b = rt.ingestor.ingest_file(PHOTO, project=B)
    assert a.created and b.created and a.asset_id != b.asset_id  # dedupe is per project
    assert rt.ingestor.ingest_file(PHOTO, project=B).asset_id == b.asset_id
    assert originals(rt) == 1 and rt.store.exists(KEY)
    rt.assets.delete(A, a.asset_id)
    assert rt.store.read_bytes(KEY) == PHOTO.read_bytes()  # B still uses the bytes
    with pytest.raises(NotFound):
        rt.assets.delete(A, b.asset_id)  # A cannot reach B's asset
    rt.assets.delete(B, b.asset_id)
    assert originals(rt) == 0 and not rt.store.exists(KEY)


def test_an_abandoned_upload_is_collected_once_its_pin_expires(rt):
    from datetime import UTC, datetime, timedelta

    now = datetime.now(UTC)
    rt.asset_repository.pin_original(SHA, size_bytes=1, mime="image/png", blob_key=KEY, now=now,
                                     until=now + timedelta(seconds=0.2))
    rt.store.put_file(KEY, PHOTO)  # the process then died before creating its asset
    assert rt.assets.collect_unreferenced() == 0  # still pinned
    import time

    time.sleep(0.3)
    assert rt.assets.collect_unreferenced() == 1
    assert originals(rt) == 0 and not rt.store.exists(KEY)


def test_delete_racing_an_upload_of_the_same_bytes_loses_nothing_and_leaks_nothing(rt):
    data = PHOTO.read_bytes()
    for round_ in range(25):
        held = rt.ingestor.ingest_file(PHOTO, project=A).asset_id
        project = (A, B)[round_ % 2]  # a re-upload in the same project, or the same bytes elsewhere
        start = threading.Barrier(2)
        threads = [threading.Thread(target=_delete, args=(rt, start, held)),
                   threading.Thread(target=_upload, args=(rt, start, project))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        remaining = assets_of(rt, A) + assets_of(rt, B)
        if remaining:  # every asset that exists reads its original: nothing was lost
            assert rt.store.read_bytes(KEY) == data and originals(rt) == 1, f"round {round_}"
        else:  # the upload found the asset that the delete then removed
            assert originals(rt) == 0 and not rt.store.exists(KEY), f"round {round_}"
        for p in (A, B):
            for asset_id in assets_of(rt, p):
                rt.assets.delete(p, asset_id)
        # with no asset left, the bytes and the row are gone: nothing leaked
        assert originals(rt) == 0 and not rt.store.exists(KEY), f"round {round_}"


def _delete(rt, start: threading.Barrier, asset_id: str) -> None:
    start.wait()
    rt.assets.delete(A, asset_id)


def _upload(rt, start: threading.Barrier, project: str) -> None:
    start.wait()
    rt.ingestor.ingest_file(PHOTO, project=project)
