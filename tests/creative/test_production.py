"""Rendering a campaign: every variant of every item for every placement, gated, stored
as assets that /img serves with the render's pixels; idempotent; rejections visible
with their codes; the same creatives on the local pool and on Ray; a job with progress."""

from __future__ import annotations

import hashlib
import io
import json
import os
import time

import numpy as np
import pytest
from PIL import Image
from sqlalchemy import delete, func, select

from tests.creative.conftest import SIGNING, B, kit
from tests.creative.test_campaigns import campaign
from vitrina.creative.campaigns import image_url
from vitrina.creative.documents import DocumentService, parser_for
from vitrina.creative.production import render_campaign
from vitrina.creative.selection import Grid
from vitrina.storage.catalog.creative import CreativeRow
from vitrina.storage.catalog.models import Asset as AssetRow
from vitrina.storage.catalog.projects import DEFAULT_PROJECT

A = DEFAULT_PROJECT
#: a text colour that meets 7:1 on the kit's own white, exactly, and so fails on real
#: pixels (anti-aliasing, photos under the text)
GREY = {"primary": "#113f67", "secondary": "#34699a", "background": "#ffffff",
        "text": "#595959", "accent": "#ffb703"}


def rows(rt, campaign_id: str) -> dict[str, dict]:
    with rt.sessions() as s:
        return {r.creative_id: {c.name: getattr(r, c.name) for c in CreativeRow.__table__.columns}
                for r in s.scalars(select(CreativeRow).where(CreativeRow.campaign == campaign_id))}


def asset_count(rt) -> int:
    with rt.sessions() as s:
        return s.scalar(select(func.count()).select_from(AssetRow))


def pixels(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


def listing(w, campaign_id: str, **params) -> list[dict]:
    out, cursor = [], None
    while True:
        r = w.client.get(f"/v1/campaigns/{campaign_id}/creatives",
                         params={**params, "limit": 7, **({"cursor": cursor} if cursor else {})},
                         headers=w.as_a)
        assert r.status_code == 200, r.text
        out += r.json()["items"]
        cursor = r.json()["next_cursor"]
        if cursor is None:
            return out


def test_a_campaign_renders_every_variant_and_serves_them_as_assets(world) -> None:
    w = world
    assert w.client.put("/v1/campaigns/spring", json=campaign(), headers=w.as_a).status_code == 201
    before = asset_count(w.rt)
    summary = render_campaign(w.rt, A, "spring", engine="local", workers=2)
    # 2 items x 2 headlines x 1 image x 2 templates x 3 placements
    assert (summary.cells, summary.existing, summary.ready + summary.rejected) == (24, 0, 24)
    stored = rows(w.rt, "spring")
    assert len(stored) == 24
    ready = [r for r in stored.values() if r["status"] == "ready"]
    assert len(ready) == summary.ready > 0
    assert asset_count(w.rt) == before + len({r["asset_id"] for r in ready})
    # per item and placement, the variants are one full grid of the selection's ids
    for item in ("coffee", "chelsea"):
        for placement in ("square", "medium-rectangle", "leaderboard"):
            ids = sorted(r["variant"]["id"] for r in stored.values()
                         if (r["item_id"], r["placement"]) == (item, placement))
            grid = Grid.of({"headline": ["h1", "h2"], "image": ["i1"], "layout": ["hero", "overlay"]})
            assert ids == sorted(grid.ids)
    r = ready[0]
    assert r["audit"]["brand_kit"] == {"id": "demo", "version": 1}
    assert r["audit"]["template"]["id"] == r["template"] and r["audit"]["copy"]["provider"] == "rules"
    assert set(r["audit"]) >= {"item", "renderer", "png_sha256", "rendered_at", "copy"}
    assert r["gates"]["passed"] and {g["code"] for g in r["gates"]["gates"]} >= {"contrast_low", "text_overflow"}
    assert r["variant"]["image_asset"] == w.assets["coffee.png" if r["item_id"] == "coffee" else "chelsea.png"]

    # every ready creative: its asset holds the render's bytes, and /img serves its pixels
    listed = listing(w, "spring", status="ready")
    assert sorted(c["id"] for c in listed) == sorted(r["creative_id"] for r in ready)
    for c in listed:
        original = b"".join(w.rt.assets.open(w.rt.assets.original(A, c["asset_id"])))
        assert c["audit"]["png_sha256"] == hashlib.sha256(original).hexdigest()
        served = w.client.get(c["image_url"])
        assert served.status_code == 200, (c["image_url"], served.text[:200])
        png = w.client.get(image_url(w.rt, A, c["asset_id"], "f_png"))  # lossless, to compare
        assert png.status_code == 200 and png.headers["content-type"] == "image/png"
        assert np.array_equal(pixels(png.content), pixels(original)), c["id"]


def test_rendering_again_changes_nothing_and_renders_nothing(world) -> None:
    w = world
    w.client.put("/v1/campaigns/spring", json=campaign(placements=["leaderboard"]), headers=w.as_a)
    render_campaign(w.rt, A, "spring", engine="local", workers=1)
    first, assets = rows(w.rt, "spring"), asset_count(w.rt)
    again = render_campaign(w.rt, A, "spring", engine="local", workers=1)
    assert (again.existing, again.ready, again.rejected, again.assets_new) == (8, 0, 0, 0)
    assert rows(w.rt, "spring") == first and asset_count(w.rt) == assets
    # a campaign change renders only what is new: one more placement
    w.client.put("/v1/campaigns/spring", json=campaign(placements=["leaderboard", "square"]),
                 headers=w.as_a)
    more = render_campaign(w.rt, A, "spring", engine="local", workers=1)
    assert (more.cells, more.existing, more.ready + more.rejected) == (16, 8, 8)
    assert set(first) < set(rows(w.rt, "spring"))


def test_failed_gates_and_dropped_copy_are_stored_as_rejected_and_shown(world) -> None:
    w = world
    DocumentService(w.rt.sessions).put(A, "brand_kit", "grey", kit(palette=GREY, min_contrast=7),
                                       parser_for("brand_kit", "grey"))
    # three headlines: the coffee's third ("New in coffee: ...") is over 40 characters
    doc = campaign(brand_kit="grey", templates=["hero"], placements=["square"], items=["coffee"],
                   copy={"variants": 3})
    assert w.client.put("/v1/campaigns/grey", json=doc, headers=w.as_a).status_code == 201
    assets = asset_count(w.rt)
    summary = render_campaign(w.rt, A, "grey", engine="local", workers=1)
    assert (summary.cells, summary.ready, summary.rejected) == (3, 0, 3)
    assert asset_count(w.rt) == assets  # nothing rejected becomes an asset
    shown = {c["variant"]: c for c in listing(w, "grey", status="rejected")}
    assert sorted(shown) == ["h1|i1|hero", "h2|i1|hero", "h3|i1|hero"]
    assert shown["h1|i1|hero"]["reasons"] == ["contrast_low"]
    gate = next(g for g in shown["h1|i1|hero"]["gates"]["gates"] if g["code"] == "contrast_low")
    assert gate["status"] == "failed" and gate["measured"]
    assert shown["h3|i1|hero"]["reasons"] == ["too_long"]
    assert shown["h3|i1|hero"]["gates"]["copy"] == {"headline": ["too_long"]}
    assert all(c["asset_id"] is None and c["image_url"] is None for c in shown.values())
    assert listing(w, "grey", status="ready") == []
    r = w.client.get("/v1/campaigns/grey/creatives", params={"status": "lost"}, headers=w.as_a)
    assert (r.status_code, r.json()["error"]["code"]) == (400, "invalid_input")
    r = w.client.get("/v1/campaigns/grey/creatives", params={"placement": "billboard"}, headers=w.as_a)
    assert r.json()["error"]["code"] == "unknown_placement"


def test_the_api_renders_as_a_job_with_progress(world) -> None:
    w = world
    w.client.put("/v1/campaigns/spring", json=campaign(placements=["leaderboard"]), headers=w.as_a)
    r = w.client.post("/v1/campaigns/spring/render", json={"engine": "local", "workers": 1},
                      headers=w.as_a)
    assert r.status_code == 202, r.text
    assert (r.json()["creatives"], r.json()["to_render"]) == (8, 8)
    job_id, deadline = r.json()["job_id"], time.monotonic() + 120
    while True:
        job = w.client.get(f"/v1/batch/jobs/{job_id}", headers=w.as_a).json()
        if job["state"] != "running" or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert (job["state"], job["total"], job["done"]) == ("done", 8, 8), job
    assert job["analysers"] == ["creative.render:spring"]
    assert len(rows(w.rt, "spring")) == 8
    again = w.client.post("/v1/campaigns/spring/render", json={}, headers=w.as_a).json()
    assert again["to_render"] == 0
    for body, code in (({"engine": "nowhere"}, "unknown_engine"), ({"workers": 0}, None)):
        r = w.client.post("/v1/campaigns/spring/render", json=body, headers=w.as_a)
        assert r.status_code in (400, 422) and (code is None or r.json()["error"]["code"] == code)
    assert w.client.post("/v1/campaigns/nope/render", json={}, headers=w.as_a).status_code == 404


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_ray_and_the_local_pool_make_the_same_creatives(world) -> None:
    ray = pytest.importorskip("ray")
    w = world
    w.client.put("/v1/campaigns/spring", json=campaign(placements=["medium-rectangle"],
                                                       items=["chelsea"]), headers=w.as_a)
    render_campaign(w.rt, A, "spring", engine="local", workers=1)
    local = rows(w.rt, "spring")
    with w.rt.sessions.begin() as s:
        s.execute(delete(CreativeRow))
    ray.init(num_cpus=1, include_dashboard=False, log_to_driver=False)
    try:
        summary = render_campaign(w.rt, A, "spring", engine="ray")
    finally:
        ray.shutdown()
    on_ray = rows(w.rt, "spring")
    assert summary.ready + summary.rejected == len(local) == 4 and summary.assets_new == 0

    def same(r: dict) -> dict:
        return {k: v for k, v in r.items() if k != "created_at"} | {
            "audit": {k: v for k, v in r["audit"].items() if k != "rendered_at"}}

    assert {k: same(v) for k, v in on_ray.items()} == {k: same(v) for k, v in local.items()}


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_commands_store_render_and_list_a_campaign(world, tmp_path, monkeypatch) -> None:
    from click.testing import CliRunner

    from vitrina.cli import main

    w = world
    for name in [n for n in os.environ if n.startswith("VITRINA_")]:
        monkeypatch.delenv(name)
    env = {"VITRINA_DATA_DIR": str(w.rt.settings.data_dir),
           "VITRINA_DATABASE_URL": w.rt.settings.database_url,
           "VITRINA_SIGNING__KEYS": json.dumps(SIGNING), "VITRINA_ANALYSIS__MODELS": "[]"}

    def run(*args: str):
        return CliRunner().invoke(main, ["creative", *args], env=env, catch_exceptions=False)

    DocumentService(w.rt.sessions).put(A, "brand_kit", "grey", kit(palette=GREY, min_contrast=7),
                                       parser_for("brand_kit", "grey"))
    path = tmp_path / "grey.json"
    path.write_text(json.dumps(campaign(brand_kit="grey", templates=["hero"], placements=["square"],
                                        items=["coffee"], copy={"variants": 3})))
    result = run("put", "campaign", "grey", str(path))
    assert result.exit_code == 0 and "campaign grey v1 (new version" in result.output, result.output
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(campaign(templates=["nope"])))
    result = run("put", "campaign", "bad", str(bad))
    assert result.exit_code == 1 and "(400 unknown_template)" in result.output
    result = run("render", "grey", "--workers", "1")
    assert result.exit_code == 0, result.output
    assert "3 creatives, 0 already stored, 0 ready, 3 rejected" in result.output
    assert "3 creatives, 3 already stored, 0 ready, 0 rejected" in run("render", "grey").output
    table = run("creatives", "grey", "--status", "rejected").output.splitlines()
    assert len(table) == 4 and "h1|i1|hero" in table[1] + table[2] + table[3]
    assert sum("contrast_low" in line for line in table) == 2
    assert sum("too_long" in line for line in table) == 1
    assert run("creatives", "nope").exit_code == 1


def test_another_projects_creatives_are_its_own_signed_with_its_own_key(world) -> None:
    from tests.conftest import PHOTOS
    from vitrina.recs.items import ItemService
    from vitrina.testing import process_all

    w = world
    photo = w.rt.ingestor.ingest_file(PHOTOS / "coffee.png", project=B).asset_id
    process_all(w.rt)
    ItemService.of(w.rt).upsert(B, "coffee", {"type": "product", "title": "Espresso beans",
                                              "asset_ids": [photo]})
    assert w.client.put("/v1/brand-kits/demo", json=kit(), headers=w.as_b).status_code == 201
    doc = campaign(items=["coffee"], placements=["leaderboard"], templates=["hero"])
    assert w.client.put("/v1/campaigns/spring", json=doc, headers=w.as_b).status_code == 201
    render_campaign(w.rt, B, "spring", engine="local", workers=1)
    listed = w.client.get("/v1/campaigns/spring/creatives", headers=w.as_b).json()["items"]
    assert listed and all(c["image_url"] is None for c in listed)  # B has no signing key yet
    key = w.rt.projects.create_signing_key(B)
    listed = w.client.get("/v1/campaigns/spring/creatives", headers=w.as_b).json()["items"]
    ready = [c for c in listed if c["status"] == "ready"]
    assert ready and all(c["image_url"].split("/")[2].startswith(key.id + ".") for c in ready)
    assert w.client.get(ready[0]["image_url"]).status_code == 200
    # A has no campaign of that name: B's creatives are not A's
    assert w.client.get("/v1/campaigns/spring/creatives", headers=w.as_a).status_code == 404
    assert rows(w.rt, "spring") and {r["project_id"] for r in rows(w.rt, "spring").values()} == {B}
