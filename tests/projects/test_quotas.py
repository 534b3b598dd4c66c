"""Project quotas through the API on SQLite and PostgreSQL, on real photos: stored
bytes, asset count, uploads and renders per minute each refuse exactly at the limit,
with a stable code and the limit and current figure in the details; concurrent uploads
never pass max_assets; a refused upload leaves nothing behind; with every quota off an
upload runs no query of its own."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, func, select

from tests.conftest import PHOTOS, make_settings
from vitrina.access.keys import create_key
from vitrina.api.app import create_app
from vitrina.config import ProjectSettings
from vitrina.errors import ConfigError, QuotaAssetsExceeded, QuotaBytesExceeded, QuotaExceeded
from vitrina.projects.quotas import ENVELOPE_BYTES, Quotas, QuotaService, quotas_of
from vitrina.runtime import Runtime
from vitrina.storage.catalog.db import transaction, upgrade
from vitrina.storage.catalog.models import Asset, IdempotencyKey, Original, StepRun
from vitrina.storage.catalog.projects import DEFAULT_PROJECT, ProjectRow, UsageRow
from vitrina.testing import make_runtime

TEAM = "team"
#: smallest first: the photos the quota tests upload
PHOTOS_BY_SIZE = sorted(PHOTOS.iterdir(), key=lambda p: p.stat().st_size)
T0 = 1_780_000_040.0  # a wall clock 20 s into a minute (18:27:20 UTC)


def size(path: Path) -> int:
    return path.stat().st_size


def add_project(sessions, project_id: str, quotas: dict | None = None) -> None:
    with transaction(sessions) as s:
        s.add(ProjectRow(id=project_id, name=f"project {project_id}", quotas=quotas or {}))


@pytest.fixture
def make_client(tmp_path, database_url):
    """A TestClient (development mode) over settings with these ``projects`` quotas;
    ``team`` exists with ``team_quotas`` as its overrides and a write key in ``headers``."""
    made = []

    def make(projects: dict | None = None, team_quotas: dict | None = None, **overrides) -> TestClient:
        settings = make_settings(tmp_path, database_url, projects=projects or {}, **overrides)
        upgrade(Runtime(settings).engine)
        client = TestClient(create_app(settings, start_workers=False))
        client.__enter__()
        made.append(client)
        client.runtime = client.app.state.runtime
        add_project(client.runtime.sessions, TEAM, team_quotas)
        token = create_key(client.runtime.sessions, "team-writer", ["write"], TEAM)
        client.team = {"Authorization": f"Bearer {token}"}
        return client

    yield make
    for client in made:
        client.__exit__(None, None, None)


def upload(client: TestClient, path: Path, headers: dict | None = None, **kw):
    return client.post("/v1/assets", files={"file": (path.name, path.read_bytes())}, headers=headers or {}, **kw)


def error(response) -> dict:
    return response.json()["error"]


def held(rt, project: str) -> tuple[int, int]:
    with rt.sessions() as s:
        n, b = s.execute(select(func.count(), func.coalesce(func.sum(Asset.size_bytes), 0))
                         .where(Asset.project_id == project)).one()
    return n, b


# --- asset count ------------------------------------------------------------------------
def test_max_assets_admits_the_third_upload_and_refuses_the_fourth(make_client):
    client = make_client(team_quotas={"max_assets": 3})  # an override; the default project has none
    first, second, third, fourth = PHOTOS_BY_SIZE[:4]
    for path in (first, second, third):
        assert upload(client, path, client.team).status_code == 201
    refused = upload(client, fourth, client.team)
    assert refused.status_code == 413
    body = error(refused)
    assert body["code"] == "quota_assets_exceeded"
    assert body["details"] == {"project": TEAM, "quota": "max_assets", "limit": 3, "current": 3}
    assert "max_assets" in body["message"] and "delete assets" in body["message"]
    assert held(client.runtime, TEAM)[0] == 3
    # the same bytes again add nothing: they still answer with the asset that holds them
    assert upload(client, second, client.team).status_code == 200
    # another project's assets are not this one's
    assert upload(client, fourth).status_code == 201


# --- stored bytes -----------------------------------------------------------------------
def test_max_bytes_refuses_exactly_past_the_limit(make_client):
    c, a, b = PHOTOS_BY_SIZE[:3]  # c is small enough to be read, then refused on its real size
    client = make_client(projects={"max_bytes": size(a) + size(b)})
    assert upload(client, a).status_code == 201
    assert upload(client, b).status_code == 201  # reaches the limit exactly
    refused = upload(client, c)
    assert refused.status_code == 413
    body = error(refused)
    assert body["code"] == "quota_bytes_exceeded" and "max_bytes" in body["message"]
    assert body["details"] == {"project": DEFAULT_PROJECT, "quota": "max_bytes", "limit": size(a) + size(b),
                               "current": size(a) + size(b), "upload_bytes": size(c)}
    assert held(client.runtime, DEFAULT_PROJECT) == (2, size(a) + size(b))


def test_max_bytes_one_byte_short_refuses_the_upload_that_would_pass_it(make_client):
    a, b = PHOTOS_BY_SIZE[:2]
    client = make_client(team_quotas={"max_bytes": size(a) + size(b) - 1})
    assert upload(client, a, client.team).status_code == 201
    refused = upload(client, b, client.team)
    assert refused.status_code == 413 and error(refused)["code"] == "quota_bytes_exceeded"
    assert error(refused)["details"]["current"] == size(a)


def test_shared_bytes_count_for_each_project_that_holds_them(make_client):
    photo = PHOTOS_BY_SIZE[0]
    client = make_client(team_quotas={"max_bytes": size(photo)})
    assert upload(client, photo).status_code == 201  # the default project holds the bytes
    assert upload(client, photo, client.team).status_code == 201  # team pays for its own asset
    assert held(client.runtime, TEAM) == (1, size(photo))
    refused = upload(client, PHOTOS_BY_SIZE[1], client.team)
    assert error(refused)["code"] == "quota_bytes_exceeded"


def test_a_declared_size_that_cannot_fit_is_refused_before_the_body_is_read(make_client):
    small, big = PHOTOS_BY_SIZE[0], PHOTOS_BY_SIZE[-1]
    client = make_client(projects={"max_bytes": size(small)})
    refused = upload(client, big)
    body = error(refused)
    assert refused.status_code == 413 and body["code"] == "quota_bytes_exceeded"
    # the declared request size (file plus multipart envelope) decided, not the file read
    assert body["details"]["upload_bytes"] > size(big)
    assert body["details"]["limit"] == size(small) and body["details"]["current"] == 0
    # at the ingestor: refused before a temp file exists
    rt = client.runtime

    def no_temp():
        raise AssertionError("the upload was staged")

    rt.store.new_temp = no_temp
    with pytest.raises(QuotaBytesExceeded), rt.ingestor.stage(size(small) + ENVELOPE_BYTES + 1,
                                                              project=DEFAULT_PROJECT):
        pass
    # a declared size within the envelope's allowance goes on to the exact check
    del rt.store.new_temp
    with rt.ingestor.stage(size(small) + ENVELOPE_BYTES, project=DEFAULT_PROJECT):
        pass


# --- rates ------------------------------------------------------------------------------
def test_upload_rate_admits_the_third_upload_of_a_minute_and_refuses_the_fourth(make_client):
    client = make_client(team_quotas={"uploads_per_minute": 3})
    quotas = client.runtime.quotas
    quotas.clock = lambda: T0
    photo = PHOTOS_BY_SIZE[0]
    assert upload(client, photo, client.team).status_code == 201
    assert upload(client, photo, client.team).status_code == 200  # a duplicate costs a check too
    assert upload(client, PHOTOS_BY_SIZE[1], client.team).status_code == 201
    refused = upload(client, PHOTOS_BY_SIZE[2], client.team)
    assert refused.status_code == 429
    assert refused.headers["retry-after"] == "1"
    body = error(refused)
    assert body["code"] == "upload_rate_exceeded" and "uploads_per_minute" in body["message"]
    assert body["details"] == {"project": TEAM, "quota": "uploads_per_minute", "limit": 3, "current": 3,
                               "retry_after_seconds": 40}
    assert upload(client, PHOTOS_BY_SIZE[2], client.team).status_code == 429  # refusals take nothing
    assert quotas.rates(TEAM)["uploads_per_minute"] == 3
    assert held(client.runtime, TEAM)[0] == 2
    assert upload(client, PHOTOS_BY_SIZE[2]).status_code == 201  # the default project has no limit
    quotas.clock = lambda: T0 + 60  # the next minute
    assert upload(client, PHOTOS_BY_SIZE[2], client.team).status_code == 201


def test_render_rate_admits_the_second_render_of_a_minute_and_refuses_the_third(make_client):
    client = make_client(projects={"renders_per_minute": 2})
    quotas = client.runtime.quotas
    quotas.clock = lambda: T0
    asset_id = upload(client, PHOTOS / "rocket.jpg").json()["id"]
    assert client.get(f"/img/_/w_100/{asset_id}").status_code == 200
    assert client.get(f"/img/_/w_101/{asset_id}").status_code == 200
    refused = client.get(f"/img/_/w_102/{asset_id}")
    assert refused.status_code == 429 and refused.headers["retry-after"] == "1"
    body = error(refused)
    assert body["code"] == "render_rate_exceeded" and "renders_per_minute" in body["message"]
    assert body["details"] == {"project": DEFAULT_PROJECT, "quota": "renders_per_minute", "limit": 2,
                               "current": 2, "retry_after_seconds": 40}
    assert client.runtime.images.stats.renders == 2  # refused before any work
    # answers made already are cached: serving them again renders nothing and is never refused
    assert client.get(f"/img/_/w_100/{asset_id}").status_code == 200
    client.runtime.images.memory = None  # from the blob store's result cache too
    assert client.get(f"/img/_/w_101/{asset_id}").status_code == 200
    quotas.clock = lambda: T0 + 60
    assert client.get(f"/img/_/w_102/{asset_id}").status_code == 200


def test_rate_counters_are_shared_by_processes(make_client):
    """Two runtimes over one catalog (two server processes) share one limit."""
    client = make_client(team_quotas={"uploads_per_minute": 2})
    other = Runtime(client.runtime.settings)
    try:
        for quotas in (client.runtime.quotas, other.quotas):
            quotas.clock = lambda: T0
        client.runtime.quotas.take_upload(TEAM)
        other.quotas.take_upload(TEAM)
        with pytest.raises(QuotaExceeded) as refused:
            client.runtime.quotas.take_upload(TEAM)
        assert refused.value.code == "upload_rate_exceeded"
    finally:
        other.close()


# --- concurrency and leftovers -----------------------------------------------------------
def test_concurrent_uploads_never_pass_max_assets(settings, database_url):
    rt = make_runtime(settings)
    try:
        for round_, limit in enumerate((3, 1, 5)):
            project = f"race-{round_}"
            add_project(rt.sessions, project, {"max_assets": limit})
            barrier = threading.Barrier(len(PHOTOS_BY_SIZE))
            outcomes: list[str] = []

            def go(path: Path, project: str = project, barrier: threading.Barrier = barrier,
                   outcomes: list[str] = outcomes) -> None:
                barrier.wait()
                try:
                    rt.ingestor.ingest_file(path, project=project)
                    outcomes.append("created")
                except QuotaAssetsExceeded:
                    outcomes.append("refused")

            threads = [threading.Thread(target=go, args=(p,)) for p in PHOTOS_BY_SIZE]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            assert sorted(outcomes) == ["created"] * limit + ["refused"] * (len(PHOTOS_BY_SIZE) - limit)
            assert held(rt, project)[0] == limit
    finally:
        rt.close()


def test_concurrent_uploads_never_pass_max_bytes(settings):
    rt = make_runtime(settings)
    try:
        photos = PHOTOS_BY_SIZE[:6]
        limit = sum(size(p) for p in photos[:3])  # the three smallest fit, never more
        add_project(rt.sessions, TEAM, {"max_bytes": limit})
        barrier = threading.Barrier(len(photos))
        created: list[Path] = []

        def go(path: Path) -> None:
            barrier.wait()
            try:
                rt.ingestor.ingest_file(path, project=TEAM)
                created.append(path)
            except QuotaBytesExceeded:
                pass

        threads = [threading.Thread(target=go, args=(p,)) for p in photos]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        count, used = held(rt, TEAM)
        assert used <= limit and count == len(created) >= 1
        assert used == sum(size(p) for p in created)
    finally:
        rt.close()


def leftovers(rt) -> dict:
    with rt.sessions() as s:
        rows = {table.__tablename__: s.scalar(select(func.count()).select_from(table))
                for table in (Asset, Original, StepRun, IdempotencyKey)}
    return {**rows, "blobs": sorted(rt.store.keys())}


@pytest.mark.parametrize("quota", ["max_assets", "max_bytes"])
def test_a_refused_upload_changes_nothing(make_client, quota):
    first, second = PHOTOS_BY_SIZE[:2]
    client = make_client(team_quotas={quota: 1 if quota == "max_assets" else size(first)})
    assert upload(client, first, client.team).status_code == 201
    before = leftovers(client.runtime)
    refused = upload(client, second, {**client.team, "Idempotency-Key": "second-1"})
    assert refused.status_code == 413
    assert leftovers(client.runtime) == before


# --- limits and the cheap path ------------------------------------------------------------
def test_limits_come_from_settings_with_project_overrides():
    defaults = ProjectSettings(max_assets=10, renders_per_minute=5)
    assert quotas_of(defaults, {}) == Quotas(max_assets=10, renders_per_minute=5)
    assert quotas_of(defaults, {"max_assets": 0, "max_bytes": 7}) == Quotas(max_bytes=7, renders_per_minute=5)
    for bad in ({"max_asset": 1}, {"max_assets": -1}, {"max_assets": "3"}, {"max_assets": True}):
        with pytest.raises(ConfigError, match="max_asset"):
            quotas_of(defaults, bad, "shop")


def test_changed_limits_take_effect_after_the_ttl_or_forget(settings):
    rt = make_runtime(settings)
    try:
        service = QuotaService(rt.sessions, settings.projects, ttl=60)
        assert service.limits(DEFAULT_PROJECT) == Quotas()
        with transaction(rt.sessions) as s:
            s.get(ProjectRow, DEFAULT_PROJECT).quotas = {"max_assets": 2}
        assert service.limits(DEFAULT_PROJECT) == Quotas()  # trusted for the TTL
        service.forget(DEFAULT_PROJECT)
        assert service.limits(DEFAULT_PROJECT) == Quotas(max_assets=2)
    finally:
        rt.close()


def test_with_every_quota_off_an_upload_runs_no_query_of_its_own(make_client):
    client = make_client()
    client.runtime.usage_meter.interval = 3600  # its batched writes are not the upload's
    statements: list[str] = []
    engine = client.runtime.engine

    def seen(conn, cursor, statement, *args):
        statements.append(statement.lower())

    assert upload(client, PHOTOS_BY_SIZE[0]).status_code == 201  # the limits are read once here
    event.listen(engine, "before_cursor_execute", seen)
    try:
        assert upload(client, PHOTOS_BY_SIZE[1]).status_code == 201
        client.get(f"/img/_/w_90/{upload(client, PHOTOS_BY_SIZE[2]).json()['id']}")
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert statements and not [s for s in statements if "projects" in s or "usage" in s]
    with client.runtime.sessions() as s:
        assert s.scalar(select(func.count()).select_from(UsageRow)) == 0
