"""Campaign documents: versioned, every reference checked in the caller's project with
a stable code, nothing written on a refusal, another project's invisible. The tests
start from conftest's ``world`` (two demo items from real photos, processed; the demo
brand kit)."""

from __future__ import annotations

from typing import Any

import pytest


def campaign(**changes: Any) -> dict[str, Any]:
    data = {"brand_kit": "demo", "templates": ["hero", "overlay"],
            "placements": ["square", "medium-rectangle", "leaderboard"],
            "items": ["coffee", "chelsea"], "copy": {"variants": 2}, "images": 1, "ocr": False}
    return {**data, **changes}


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
