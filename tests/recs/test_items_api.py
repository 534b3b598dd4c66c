"""/v1/items on SQLite and PostgreSQL: idempotent upserts, batches all or nothing,
limits before parsing, stable error codes, filters and pages."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from vitrina.recs.items import MAX_BATCH

ITEM = {"type": "article", "attributes": {"lang": "fr", "tags": ["a", "b"]},
        "title": "Premier", "body": "Le texte.", "asset_ids": []}


def test_put_is_an_idempotent_upsert(client) -> None:
    r = client.put("/v1/items/art-1", json=ITEM)
    assert r.status_code == 201, r.text
    assert r.headers["X-Item-Outcome"] == "new"
    first = r.json()
    assert first["id"] == "art-1" and first["attributes"] == ITEM["attributes"]
    time.sleep(0.01)
    again = client.put("/v1/items/art-1", json=ITEM)
    assert (again.status_code, again.headers["X-Item-Outcome"]) == (200, "unchanged")
    assert again.json() == first  # updated_at did not move
    # the same content with its keys in another order is the same item
    reordered = dict(reversed(list(ITEM.items())))
    assert client.put("/v1/items/art-1", json=reordered).headers["X-Item-Outcome"] == "unchanged"
    changed = client.put("/v1/items/art-1", json={**ITEM, "title": "Second"})
    assert (changed.status_code, changed.headers["X-Item-Outcome"]) == (200, "updated")
    assert changed.json()["updated_at"] > first["updated_at"]
    assert changed.json()["created_at"] == first["created_at"]
    assert client.get("/v1/items/art-1").json() == changed.json()


def test_a_batch_is_validated_whole_and_written_all_or_nothing(client) -> None:
    items = [{"id": f"p{i}", **ITEM} for i in range(3)]
    assert client.post("/v1/items", json=items).json() == {"new": 3, "updated": 0, "unchanged": 0}
    items[1]["title"] = "changed"
    assert client.post("/v1/items", json={"items": items}).json() == \
        {"new": 0, "updated": 1, "unchanged": 2}
    bad = [*items, {"id": "p9", **ITEM}, {"id": "p10", "type": "bad type!"},
           {"id": "p0", **ITEM}]
    r = client.post("/v1/items", json=bad)
    assert r.status_code == 400
    error = r.json()["error"]
    assert error["code"] == "invalid_items"
    assert [(p["index"], p["field"]) for p in error["details"]["problems"]] == [(4, "type"), (5, "id")]
    assert client.get("/v1/items/p9").status_code == 404  # nothing of the batch was written


def test_limits_and_codes(client) -> None:
    too_many = [{"id": f"x{i}", "type": "t"} for i in range(MAX_BATCH + 1)]
    r = client.post("/v1/items", json=too_many)
    assert (r.status_code, r.json()["error"]["code"]) == (413, "batch_too_large")
    # a body past the route's cap is refused from its declared length, before any parsing
    r = client.put("/v1/items/big", content=b"{" + b" " * (200 * 1024) + b"}",
                   headers={"Content-Type": "application/json"})
    assert (r.status_code, r.json()["error"]["code"]) == (413, "payload_too_large")
    cases = [
        ({**ITEM, "attributes": {"x": "y" * 9000}}, "attributes"),
        ({**ITEM, "title": "t" * 513}, "title"),
        ({**ITEM, "asset_ids": ["not-an-asset-id"]}, "asset_ids"),
        ({**ITEM, "active_from": "2026-01-01T00:00:00"}, "active_from"),  # no zone
        ({**ITEM, "active_from": 100, "active_until": 50}, "active_until"),
        ({**ITEM, "colour": "red"}, "colour"),
        ({"attributes": {}}, "type"),
    ]
    for body, field in cases:
        r = client.put("/v1/items/one", json=body)
        assert r.status_code == 400, (field, r.text)
        assert r.json()["error"]["code"] == "invalid_items"
        assert r.json()["error"]["details"]["problems"][0]["field"] == field
    r = client.put("/v1/items/one", json=[ITEM])
    assert (r.status_code, r.json()["error"]["code"]) == (400, "invalid_input")
    r = client.put("/v1/items/one", json={**ITEM, "id": "other"})
    assert (r.status_code, r.json()["error"]["code"]) == (400, "invalid_items")
    assert client.put("/v1/items/bad%20id", json=ITEM).json()["error"]["code"] == "invalid_items"
    r = client.post("/v1/items", content=b"[{", headers={"Content-Type": "application/json"})
    assert r.status_code == 400
    r = client.post("/v1/items", json={"things": []})
    assert (r.status_code, r.json()["error"]["code"]) == (400, "invalid_input")
    assert client.get("/v1/items", params={"cursor": "!!"}).json()["error"]["code"] == "invalid_cursor"


def test_list_filters_and_pages_and_delete(client) -> None:
    now = datetime.now(UTC)
    later, earlier = (now + timedelta(days=1)).isoformat(), (now - timedelta(days=1)).isoformat()
    items = [{"id": f"a{i:02d}", "type": "article" if i % 2 else "product"} for i in range(10)]
    items[1]["active_from"] = later  # not yet
    items[3]["active_until"] = earlier  # over
    items[5] = {**items[5], "active_from": earlier, "active_until": later}
    assert client.post("/v1/items", json=items).status_code == 200
    ids = []
    cursor = None
    while True:
        page = client.get("/v1/items", params={"limit": 3, **({"cursor": cursor} if cursor else {})}).json()
        ids += [i["id"] for i in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert ids == [f"a{i:02d}" for i in range(10)]
    articles = client.get("/v1/items", params={"type": "article"}).json()["items"]
    assert [i["id"] for i in articles] == ["a01", "a03", "a05", "a07", "a09"]
    active = client.get("/v1/items", params={"type": "article", "active": "true"}).json()["items"]
    assert [i["id"] for i in active] == ["a05", "a07", "a09"]
    inactive = client.get("/v1/items", params={"active": "false"}).json()["items"]
    assert [i["id"] for i in inactive] == ["a01", "a03"]
    assert client.delete("/v1/items/a05").status_code == 204
    assert client.get("/v1/items/a05").json()["error"]["code"] == "not_found"
    assert client.delete("/v1/items/a05").status_code == 404
