"""The storage breakdown of usage on SQLite and PostgreSQL, on real files: a short encoded
clip through the pipeline (its MP4 and HLS rungs, storyboard, poster and ladder signal),
images, and an image shared with another project. Each figure equals a sum made
independently, from the files in the store and the uploaded files."""

from __future__ import annotations

import json
import os

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from tests.conftest import PHOTOS, make_settings
from tests.data.hostile.make_hostile_video import clip
from tests.delivery.test_video_playback import catalogs
from vitrina.api.app import create_app
from vitrina.cli import main
from vitrina.pipeline.queue import write_signals
from vitrina.pipeline.steps import SignalOut
from vitrina.projects.breakdown import storage_class
from vitrina.storage.catalog.db import transaction
from vitrina.testing import make_runtime, process_all

TEAM = "team"
PRICE = 0.5
NO_SAVING = {"bytes": 0, "fixed_ladder_bytes": 0, "ladder_bytes": 0, "titles": 0}


@pytest.fixture(scope="module", params=[("sqlite", "local"), ("postgresql", "local")], ids=["sqlite", "postgresql"])
def world(request, tmp_path_factory):
    """One world per catalog for the module (the pipeline runs once); the tests that
    change it (a delete, a rewritten signal) come last."""
    tmp = tmp_path_factory.mktemp("usage")
    for database_url, _ in catalogs(request, tmp):
        settings = make_settings(tmp, database_url, projects={"storage_price_per_gb_month": PRICE})
        rt = make_runtime(settings)
        rt.projects.create(TEAM)
        video = clip(tmp / "clip.mp4", size="320x180", seconds=3.0)  # real, and quick to process
        ids = {name: rt.ingestor.ingest_file(path).asset_id
               for name, path in (("clip.mp4", video), ("rocket.jpg", PHOTOS / "rocket.jpg"),
                                  ("text.png", PHOTOS / "text.png"))}
        ids["team rocket"] = rt.ingestor.ingest_file(PHOTOS / "rocket.jpg", project=TEAM).asset_id  # shared
        ids["team retina"] = rt.ingestor.ingest_file(PHOTOS / "retina.jpg", project=TEAM).asset_id
        process_all(rt)
        with TestClient(create_app(settings, start_workers=False, runtime=rt)) as client:
            client.rt, client.ids, client.video_bytes = rt, ids, video.stat().st_size
            yield client


def expected_classes(rt, project: str) -> dict[tuple[str, str], list[int]]:
    """(kind, class) -> [files, bytes] from the store: each asset's original, and each
    file under its derivatives/ by its extension and folder."""
    out: dict[tuple[str, str], list[int]] = {}

    def add(kind: str, cls: str, size: int) -> None:
        held = out.setdefault((kind, cls), [0, 0])
        held[0] += 1
        held[1] += size

    for asset in rt.assets.list(project, limit=100).items:
        add(asset.kind, "original", rt.store.size(asset.blob_key))
        for key in rt.store.keys(f"derivatives/{asset.id}/"):
            cls = ("storyboard" if "/storyboard/" in key
                   else "rendition" if key.rsplit(".", 1)[1] in ("mp4", "m3u8", "m4s")
                   else "derivative" if asset.kind == "image" else "other")
            add(asset.kind, cls, rt.store.size(key))
    return out


def test_breakdown_by_kind_and_class_and_savings(world):
    rt, ids = world.rt, world.ids
    expected = expected_classes(rt, "default")
    assert set(expected) == {("image", "original"), ("image", "derivative"), ("video", "original"),
                             ("video", "rendition"), ("video", "storyboard")}
    assert expected[("video", "original")] == [1, world.video_bytes]
    assert expected[("image", "original")][0] == 3  # two uploads and the video's poster
    report = world.get("/v1/usage").json()["storage"]
    files = report["breakdown"]
    got = {(c["kind"], c["class"]): [c["files"], c["bytes"]] for c in files["classes"]}
    assert got == expected
    assert [(c["kind"], c["class"]) for c in files["classes"]] == [
        ("image", "original"), ("image", "derivative"), ("video", "original"), ("video", "rendition"),
        ("video", "storyboard")]
    total = sum(b for _, b in expected.values())
    assert files["bytes"] == total and files["stored_bytes"] == total  # its originals were stored first
    assert files["stored_cost_per_month"] == round(total / 1e9 * PRICE, 6)
    assert files["saved"]["dedupe"] == {"bytes": 0, "assets": 0}
    rungs = rt.assets.get("default", ids["clip.mp4"]).signals["ladder"].value["rungs"]
    mp4 = rt.store.size(f"derivatives/{ids['clip.mp4']}/h180w320.mp4")
    assert [r["bytes"] for r in rungs] == [mp4]  # the ladder's figures are the stored rung's
    fixed = sum(r["fixed_bytes"] for r in rungs)
    assert files["saved"]["per_title"] == {"bytes": fixed - mp4, "fixed_ladder_bytes": fixed,
                                           "ladder_bytes": mp4, "titles": 1}
    for c in files["classes"]:
        assert c["cost_per_month"] == round(c["bytes"] / 1e9 * PRICE, 6)
    # the fields that were there before keep their meaning: the originals by kind
    assert report["by_kind"] == [{"kind": k, "assets": expected[(k, "original")][0],
                                  "bytes": expected[(k, "original")][1]} for k in ("image", "video")]


def test_the_command_prints_the_breakdown(world, monkeypatch):
    rt = world.rt
    for name in [n for n in os.environ if n.startswith("VITRINA_")]:
        monkeypatch.delenv(name)
    env = {"VITRINA_DEV": "1", "VITRINA_DATA_DIR": str(rt.settings.data_dir),
           "VITRINA_DATABASE_URL": rt.settings.database_url,
           "VITRINA_PROJECTS__STORAGE_PRICE_PER_GB_MONTH": str(PRICE)}
    table = CliRunner().invoke(main, ["usage"], env=env, catch_exceptions=False)
    assert table.exit_code == 0, table.output
    report = json.loads(CliRunner().invoke(main, ["usage", "--json"], env=env).output)
    files = report["storage"]["breakdown"]
    lines = table.output.splitlines()
    for c in files["classes"]:
        assert (f"{c['kind']:12}  {c['class']:12}  {c['files']:>10,}  {c['bytes']:>16,}  "
                f"{c['cost_per_month']:>12.6f}") in lines
    per_title = files["saved"]["per_title"]
    assert any(line.startswith("saved by per-title ladders") and f"{per_title['bytes']:,}" in line
               for line in lines)
    assert any(line.split()[:2] == ["stored", f"{files['stored_bytes']:,}"] for line in lines)
    assert any(line.split()[:3] == ["video", "bytes", "served"] for line in lines)


def test_shared_originals_are_paid_by_the_first_holder(world):
    rt, ids = world.rt, world.ids
    files = rt.usage.report(TEAM).to_dict()["storage"]["breakdown"]
    total = sum(b for _, b in expected_classes(rt, TEAM).values())
    shared = (PHOTOS / "rocket.jpg").stat().st_size
    assert files["bytes"] == total
    assert files["saved"]["dedupe"] == {"bytes": shared, "assets": 1}
    assert files["stored_bytes"] == total - shared
    assert files["saved"]["per_title"] == NO_SAVING
    # once the first holder deletes its copy, the team's is the one stored
    rt.assets.delete("default", ids["rocket.jpg"])
    after = rt.usage.report(TEAM).to_dict()["storage"]["breakdown"]
    assert after["saved"]["dedupe"] == {"bytes": 0, "assets": 0} and after["stored_bytes"] == total


def test_malformed_ladders_are_left_out(world):
    rt, video = world.rt, world.ids["clip.mp4"]
    ladder = {"rungs": [{"bytes": 100, "fixed_bytes": 250}, {"bytes": 300, "fixed_bytes": 200},
                        {"bytes": "9", "fixed_bytes": 10}, {"bytes": True, "fixed_bytes": 10},
                        {"bytes": -1, "fixed_bytes": 10}, "rung", {"width": 640}]}
    with transaction(rt.sessions) as s:
        write_signals(s, video, [SignalOut("ladder", "test", "2", ladder)])
    saved = rt.usage.report("default").to_dict()["storage"]["breakdown"]["saved"]["per_title"]
    assert saved == {"bytes": 250 + 200 - 100 - 300, "fixed_ladder_bytes": 450, "ladder_bytes": 400, "titles": 1}
    with transaction(rt.sessions) as s:
        write_signals(s, video, [SignalOut("ladder", "test", "3", {"rungs": "none"})])
    assert rt.usage.report("default").to_dict()["storage"]["breakdown"]["saved"]["per_title"] == NO_SAVING


@pytest.mark.parametrize(("kind", "producer", "fmt", "in_storyboard", "cls"), [
    ("video", "renditions", "mp4", False, "rendition"),
    ("video", "renditions", "hls", False, "rendition"),  # the master playlist
    ("video", "renditions", "m3u8", False, "rendition"),
    ("video", "renditions", "m4s", False, "rendition"),
    ("video", "storyboard", "jpeg", False, "storyboard"),
    ("video", "anything", "vtt", True, "storyboard"),
    ("video", "poster", "jpg", False, "other"),
    ("image", "derivatives", "webp", False, "derivative"),
])
def test_classes_follow_format_producer_and_folder(kind, producer, fmt, in_storyboard, cls):
    assert storage_class(kind, producer, fmt, in_storyboard) == cls
