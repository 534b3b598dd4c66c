"""Usage per project on SQLite and PostgreSQL, on real photos: what a project holds by
media kind equals the sums of its files, /img renders and bytes served and the download
routes' bytes are counted (in memory, then written in batches), several processes add
up, and `vitrina usage` prints the same figures."""

from __future__ import annotations

import json
import threading

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.conftest import PHOTOS, make_settings
from vitrina.access.keys import create_key
from vitrina.api.app import create_app
from vitrina.cli import main
from vitrina.projects.usage import (
    DERIVATIVE_BYTES,
    IMAGE_BYTES_SERVED,
    ORIGINAL_BYTES,
    RENDERS,
    UsageMeter,
    day_of,
)
from vitrina.runtime import Runtime
from vitrina.storage.catalog.db import transaction, upgrade
from vitrina.storage.catalog.projects import DEFAULT_PROJECT, ProjectRow, UsageRow
from vitrina.testing import make_runtime, process_all

TEAM = "team"
T0 = 1_780_000_040.0  # 2026-05-28 20:27:20 UTC


def add_project(sessions, project_id: str) -> None:
    with transaction(sessions) as s:
        s.add(ProjectRow(id=project_id, name=f"project {project_id}", quotas={}))


@pytest.fixture
def client(tmp_path, database_url):
    """Development mode, no in-memory image cache (every /img answer goes through the
    service), a storage price, and a ``team`` project with a read-write key."""
    settings = make_settings(tmp_path, database_url, projects={"storage_price_per_gb_month": 0.25},
                             delivery={"memory_bytes": 0})
    upgrade(Runtime(settings).engine)
    with TestClient(create_app(settings, start_workers=False)) as c:
        c.runtime = c.app.state.runtime
        c.runtime.usage_meter.interval = 3600  # the tests flush when they want to
        add_project(c.runtime.sessions, TEAM)
        c.team = {"Authorization": f"Bearer {create_key(c.runtime.sessions, 'team', ['write'], TEAM)}"}
        yield c


def upload(client, name: str, headers: dict | None = None) -> str:
    path = PHOTOS / name
    answer = client.post("/v1/assets", files={"file": (name, path.read_bytes())}, headers=headers or {})
    assert answer.status_code in (200, 201), answer.text
    return answer.json()["id"]


def rows(rt, project: str) -> dict[str, int]:
    with rt.sessions() as s:
        found = s.execute(select(UsageRow.metric, UsageRow.value)
                          .where(UsageRow.project_id == project, UsageRow.period == day_of(rt.usage_meter.clock())))
        return dict(found.all())


def test_storage_by_kind_equals_the_files_each_project_holds(client):
    mine = ["rocket.jpg", "coffee.png", "text.png"]
    for name in mine:
        upload(client, name)
    upload(client, "text.png", client.team)  # shared bytes: counted for each project
    upload(client, "retina.jpg", client.team)
    report = client.get("/v1/usage").json()
    expected = sum((PHOTOS / n).stat().st_size for n in mine)
    assert report["project"] == DEFAULT_PROJECT
    assert report["storage"]["by_kind"] == [{"kind": "image", "assets": 3, "bytes": expected}]
    assert report["storage"]["assets"] == 3 and report["storage"]["bytes"] == expected
    assert report["storage"]["cost"] == {"price_per_gb_month": 0.25, "gb": expected / 1e9,
                                         "per_month": round(expected / 1e9 * 0.25, 6)}
    assert report["quotas"]["max_assets"] == {"limit": 0, "current": 3}
    assert report["quotas"]["max_bytes"] == {"limit": 0, "current": expected}
    team = client.get("/v1/usage", headers=client.team).json()
    team_bytes = sum((PHOTOS / n).stat().st_size for n in ("text.png", "retina.jpg"))
    assert team["project"] == TEAM
    assert team["storage"]["by_kind"] == [{"kind": "image", "assets": 2, "bytes": team_bytes}]


def test_renders_and_image_bytes_served_are_counted(client):
    asset_id = upload(client, "rocket.jpg")
    upload(client, "rocket.jpg", client.team)  # the same bytes in another project
    served = 0
    for ops in ("w_200", "w_300,f_webp", "w_200"):  # two renders; the third answer is from the blob cache
        answer = client.get(f"/img/_/{ops}/{asset_id}")
        assert answer.status_code == 200
        served += len(answer.content)
    not_modified = client.get(f"/img/_/w_200/{asset_id}", headers={"If-None-Match": answer.headers["etag"]})
    assert not_modified.status_code == 304  # no body: nothing served
    pending = client.runtime.usage_meter.pending()
    assert rows(client.runtime, DEFAULT_PROJECT) == {}  # nothing written before a flush
    today = day_of(client.runtime.usage_meter.clock())
    assert pending[(DEFAULT_PROJECT, RENDERS, today)] == 2
    client.runtime.usage_meter.flush()
    assert rows(client.runtime, DEFAULT_PROJECT) == {RENDERS: 2, IMAGE_BYTES_SERVED: served}
    assert rows(client.runtime, TEAM) == {}  # its own asset was not requested
    report = client.get("/v1/usage").json()["traffic"]
    assert report["today"][RENDERS] == 2 and report["month"][IMAGE_BYTES_SERVED] == served
    assert report["today"][ORIGINAL_BYTES] == 0


def test_answers_from_the_memory_cache_are_counted_too(tmp_path, database_url):
    settings = make_settings(tmp_path, database_url)
    upgrade(Runtime(settings).engine)
    with TestClient(create_app(settings, start_workers=False)) as c:
        meter = c.app.state.runtime.usage_meter
        meter.interval = 3600
        asset_id = upload(c, "rocket.jpg")
        sizes = [len(c.get(f"/img/_/w_200/{asset_id}").content) for _ in range(3)]
        assert c.app.state.images.service.stats.memory_hits == 2
        etag = c.get(f"/img/_/w_200/{asset_id}").headers["etag"]
        assert c.get(f"/img/_/w_200/{asset_id}", headers={"If-None-Match": etag}).status_code == 304
        assert c.head(f"/img/_/w_200/{asset_id}").status_code == 200  # no body: nothing served
        meter.flush()
        assert rows(c.app.state.runtime, DEFAULT_PROJECT) == {RENDERS: 1, IMAGE_BYTES_SERVED: 4 * sizes[0]}


def test_downloaded_bytes_are_counted_by_kind_of_file(client):
    asset_id = upload(client, "rocket.jpg")
    process_all(client.runtime)
    original = client.get(f"/v1/assets/{asset_id}/original")
    part = client.get(f"/v1/assets/{asset_id}/original", headers={"Range": "bytes=0-99"})
    assert part.status_code == 206 and len(part.content) == 100
    again = client.get(f"/v1/assets/{asset_id}/original", headers={"If-None-Match": original.headers["etag"]})
    assert again.status_code == 304
    derivative = client.get(f"/v1/assets/{asset_id}/derivatives/320.webp")
    assert derivative.status_code == 200
    report = client.get("/v1/usage").json()["traffic"]["today"]  # the report writes this process's counts
    assert report[ORIGINAL_BYTES] == len(original.content) + 100 == (PHOTOS / "rocket.jpg").stat().st_size + 100
    assert report[DERIVATIVE_BYTES] == len(derivative.content)


def test_counters_of_several_processes_add_up_and_close_writes_the_rest(settings):
    rt = make_runtime(settings)
    add_project(rt.sessions, TEAM)
    meters = [UsageMeter(rt.sessions, interval=3600, clock=lambda: T0) for _ in range(3)]
    try:
        def count(meter: UsageMeter) -> None:
            for _ in range(1000):
                meter.add(TEAM, IMAGE_BYTES_SERVED, 3)
                meter.add(TEAM, RENDERS)

        threads = [threading.Thread(target=count, args=(m,)) for m in meters for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        meters[0].flush()
        meters[1].flush()
        meters[2].close()  # a process shutting down writes what it holds
        meters[0].add(TEAM, RENDERS, 5)
        meters[0].add(TEAM, RENDERS, 1)  # the next UTC day is another row
        with rt.sessions() as s:
            got = dict(s.execute(select(UsageRow.metric, UsageRow.value)
                                 .where(UsageRow.project_id == TEAM, UsageRow.period == "2026-05-28")).all())
        assert got == {RENDERS: 6000, IMAGE_BYTES_SERVED: 18000}
    finally:
        for m in meters:
            m.close()
        rt.close()


def test_a_deleted_projects_counts_are_dropped_and_the_others_kept(settings):
    rt = make_runtime(settings)
    add_project(rt.sessions, "gone")
    meter = UsageMeter(rt.sessions, interval=3600, clock=lambda: T0)
    meter.add("gone", RENDERS, 4)
    meter.add(DEFAULT_PROJECT, RENDERS, 2)
    with transaction(rt.sessions) as s:
        s.delete(s.get(ProjectRow, "gone"))
    assert meter.flush() == 1
    assert meter.pending() == {}
    with rt.sessions() as s:
        assert s.scalar(select(UsageRow.value).where(UsageRow.project_id == DEFAULT_PROJECT)) == 2
    meter.close()
    rt.close()


def test_the_background_thread_writes_every_interval(settings):
    rt = make_runtime(settings)
    meter = UsageMeter(rt.sessions, interval=0.05)
    try:
        meter.add(DEFAULT_PROJECT, RENDERS, 7)
        for _ in range(200):
            if not meter.pending():
                break
            threading.Event().wait(0.02)
        with rt.sessions() as s:
            assert s.scalar(select(UsageRow.value).where(UsageRow.project_id == DEFAULT_PROJECT)) == 7
    finally:
        meter.close()
        rt.close()


# --- the command --------------------------------------------------------------------------
@pytest.fixture
def run(monkeypatch, tmp_path):
    import os

    for name in [n for n in os.environ if n.startswith("VITRINA_")]:
        monkeypatch.delenv(name)
    env = {"VITRINA_DEV": "1", "VITRINA_DATA_DIR": str(tmp_path / "data"),
           "VITRINA_DERIVATIVES__FORMATS": '["webp","jpeg"]', "VITRINA_PROJECTS__MAX_ASSETS": "10"}
    runner = CliRunner()

    def invoke(*args: str, **extra: str):
        return runner.invoke(main, list(args), env=env | extra, catch_exceptions=False)

    assert invoke("db", "upgrade").exit_code == 0
    return invoke


def test_usage_command_prints_a_table_and_the_apis_json(run):
    assert run("ingest", str(PHOTOS / "rocket.jpg"), str(PHOTOS / "text.png")).exit_code == 0
    total = sum((PHOTOS / n).stat().st_size for n in ("rocket.jpg", "text.png"))
    table = run("usage")
    assert table.exit_code == 0, table.output
    lines = table.output.splitlines()
    assert lines[0].startswith("project default")
    assert f"image                  2  {total:>16,}" in lines
    assert any(line.split()[:3] == ["max_assets", "10", "2"] for line in lines)
    assert any(line.split()[:2] == ["max_bytes", "unlimited"] for line in lines)
    assert not any("storage cost" in line for line in lines)
    report = json.loads(run("usage", "--json").output)
    assert report["storage"]["by_kind"] == [{"kind": "image", "assets": 2, "bytes": total}]
    assert report["quotas"]["max_assets"] == {"limit": 10, "current": 2}
    priced = run("usage", VITRINA_PROJECTS__STORAGE_PRICE_PER_GB_MONTH="2").output
    assert f"storage cost: {total / 1e9:.6f} GB x 2 per GB-month = {total / 1e9 * 2:.6f} per month" in priced
    missing = run("usage", "--project", "nope")
    assert missing.exit_code == 1 and "no project 'nope'" in missing.output
