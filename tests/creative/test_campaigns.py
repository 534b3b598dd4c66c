"""Campaign documents: versioned, every reference checked in the caller's project with
a stable code, nothing written on a refusal, another project's invisible. The world
built here (two demo items from real photos, processed; the demo brand kit) is the
campaign tests' start, test_production.py's too."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import PHOTOS, make_settings
from tests.creative.conftest import LOGO
from vitrina.access.keys import create_key
from vitrina.api.app import create_app
from vitrina.creative.documents import DocumentService, parser_for
from vitrina.recs.items import ItemService
from vitrina.storage.catalog.db import transaction
from vitrina.storage.catalog.projects import DEFAULT_PROJECT, ProjectRow
from vitrina.testing import make_runtime, process_all

SIGNING = {"k1": "a-long-random-signing-secret"}
B = "team-b"


def kit(**changes: Any) -> dict[str, Any]:
    data = {"name": "Demo Goods", "logo": base64.b64encode(LOGO.read_bytes()).decode(),
            "palette": {"primary": "#113f67", "secondary": "#34699a", "background": "#fdf6ec",
                        "text": "#1b1b1b", "accent": "#ffb703"},
            "fonts": {"headline": "Inter", "body": "Roboto", "fallbacks": ["Noto Sans"]}}
    return {**data, **changes}


def campaign(**changes: Any) -> dict[str, Any]:
    data = {"brand_kit": "demo", "templates": ["hero", "overlay"],
            "placements": ["square", "medium-rectangle", "leaderboard"],
            "items": ["coffee", "chelsea"], "copy": {"variants": 2}, "images": 1, "ocr": False}
    return {**data, **changes}


@dataclass
class World:
    rt: Any
    client: TestClient
    as_a: dict[str, str]
    as_b: dict[str, str]
    assets: dict[str, str]  # photo file name -> asset id


def build(tmp_path, database_url: str):
    settings = make_settings(tmp_path, database_url, dev=False, signing={"keys": SIGNING})
    rt = make_runtime(settings)
    with transaction(rt.sessions) as s:
        s.add(ProjectRow(id=B, name="Team B", quotas={}))
    assets = {name: rt.ingestor.ingest_file(PHOTOS / name).asset_id
              for name in ("coffee.png", "chelsea.png", "astronaut.png")}
    process_all(rt)
    items = ItemService.of(rt)
    items.upsert(DEFAULT_PROJECT, "coffee", {
        "type": "product", "title": "Single-origin espresso beans",
        "attributes": {"price": 14.5, "currency": "USD", "category": "coffee"},
        "asset_ids": [assets["coffee.png"], assets["astronaut.png"]]})
    items.upsert(DEFAULT_PROJECT, "chelsea", {
        "type": "product", "title": "Cat bed with washable cover",
        "attributes": {"price": 39.99, "currency": "GBP", "brand": "Purr"},
        "asset_ids": [assets["chelsea.png"]]})
    items.upsert(DEFAULT_PROJECT, "no-photo", {"type": "product", "title": "Gift card"})
    items.upsert(DEFAULT_PROJECT, "odd-price", {
        "type": "voucher", "title": "Tasting voucher", "attributes": {"price": "a few euros"},
        "asset_ids": [assets["coffee.png"]]})
    DocumentService(rt.sessions).put(DEFAULT_PROJECT, "brand_kit", "demo", kit(),
                                     parser_for("brand_kit", "demo"))
    as_a = {"Authorization": f"Bearer {create_key(rt.sessions, 'a', ['admin'], DEFAULT_PROJECT)}"}
    as_b = {"Authorization": f"Bearer {create_key(rt.sessions, 'b', ['admin'], B)}"}
    client = TestClient(create_app(settings, start_workers=False, runtime=rt))
    return World(rt, client, as_a, as_b, assets)


@pytest.fixture
def world(tmp_path, database_url):
    w = build(tmp_path, database_url)
    with w.client:
        yield w
    w.rt.close()


def test_a_campaign_is_a_versioned_document(world) -> None:
    c, a = world.client, world.as_a
    r = c.put("/v1/campaigns/spring", json=campaign(), headers=a)
    assert (r.status_code, r.json()["version"]) == (201, 1), r.text
    assert c.put("/v1/campaigns/spring", json=campaign(), headers=a).status_code == 200
    r = c.put("/v1/campaigns/spring", json=campaign(placements=["story"]), headers=a)
    assert (r.status_code, r.json()["version"]) == (201, 2)
    assert c.get("/v1/campaigns/spring", headers=a).json()["document"]["placements"] == ["story"]
    old = c.get("/v1/campaigns/spring", params={"version": 1}, headers=a).json()
    assert old["document"]["placements"] == ["square", "medium-rectangle", "leaderboard"]
    # a brand kit pinned by version, and items chosen by type, are accepted too
    r = c.put("/v1/campaigns/pinned", json=campaign(brand_kit={"id": "demo", "version": 1},
                                                    items={"type": "product"}), headers=a)
    assert r.status_code == 201, r.text


@pytest.mark.parametrize(("change", "code", "field"), [
    ({"brand_kit": "no-such-kit"}, "unknown_brand_kit", "brand_kit"),
    ({"brand_kit": {"id": "demo", "version": 9}}, "unknown_brand_kit", "brand_kit"),
    ({"templates": ["hero", "no-such-template"]}, "unknown_template", "templates"),
    ({"placements": ["square", "billboard"]}, "unknown_placement", "placements"),
    ({"items": ["coffee", "no-photo"]}, "item_without_image", "items"),
    ({"items": ["coffee", "nobody"]}, "unknown_item", "items"),
    ({"items": ["odd-price"]}, "item_not_renderable", "items"),
    ({"items": {"type": "voucher"}}, "item_not_renderable", "items"),
    ({"copy": {"provider": "no-such-generator"}}, "unknown_provider", "copy.provider"),
    ({"copy": {"variants": 0}}, "invalid_campaign", "copy.variants"),
    ({"images": "two"}, "invalid_campaign", "images"),
    ({"templates": []}, "invalid_campaign", "templates"),
    ({"colour": "red"}, "invalid_campaign", "colour"),
])
def test_bad_campaigns_are_refused_with_a_stable_code_and_nothing_is_written(
        world, change, code, field) -> None:
    c, a = world.client, world.as_a
    r = c.put("/v1/campaigns/bad", json=campaign(**change), headers=a)
    assert r.status_code == 400, r.text
    error = r.json()["error"]
    assert (error["code"], error["details"]["field"]) == (code, field), error
    assert c.get("/v1/campaigns/bad", headers=a).status_code == 404


def test_a_bad_id_or_body_is_refused(world) -> None:
    c, a = world.client, world.as_a
    assert c.put("/v1/campaigns/has space", json=campaign(), headers=a).json()["error"]["code"] == \
        "invalid_document_id"
    r = c.put("/v1/campaigns/x", content=b"[1, 2]", headers={**a, "Content-Type": "application/json"})
    assert r.status_code == 400


def test_another_project_sees_nothing_and_cannot_use_our_documents(world) -> None:
    c, a, b = world.client, world.as_a, world.as_b
    assert c.put("/v1/campaigns/spring", json=campaign(), headers=a).status_code == 201
    for path in ("/v1/campaigns/spring", "/v1/campaigns/spring/creatives"):
        r = c.get(path, headers=b)
        assert (r.status_code, r.json()["error"]["code"]) == (404, "not_found"), path
    assert c.post("/v1/campaigns/spring/render", json={}, headers=b).status_code == 404
    # B's campaign naming A's brand kit and items: neither exists in B
    r = c.put("/v1/campaigns/spring", json=campaign(), headers=b)
    assert r.json()["error"]["code"] == "unknown_brand_kit"
    assert c.get("/v1/campaigns/spring", headers=a).json()["version"] == 1
