"""Collections (decision 022) end to end, on SQLite and PostgreSQL."""

from __future__ import annotations

from tests.api.test_assets import upload


def create(client, name: str, **extra):
    return client.post("/v1/collections", json={"name": name, **extra})


def test_lifecycle(client):
    r = create(client, "  Hero shots ", description="for the landing page")
    assert r.status_code == 201, r.text
    made = r.json()
    assert r.headers["location"] == f"/v1/collections/{made['id']}"
    assert (made["name"], made["description"], made["asset_count"]) == ("Hero shots", "for the landing page", 0)
    path = f"/v1/collections/{made['id']}"
    assert client.get(path).json() == made
    # a missing member stays, a null description clears it
    renamed = client.patch(path, json={"name": "Heroes"}).json()
    assert (renamed["name"], renamed["description"]) == ("Heroes", "for the landing page")
    assert client.patch(path, json={"description": None}).json()["description"] is None
    assert [c["name"] for c in client.get("/v1/collections").json()["items"]] == ["Heroes"]
    assert client.delete(path).status_code == 204
    assert client.get(path).status_code == 404
    assert client.delete(path).status_code == 404


def test_names_are_unique_per_project(client):
    first = create(client, "Picks").json()
    other = create(client, "Others").json()
    for r in (create(client, "Picks "), client.patch(f"/v1/collections/{other['id']}", json={"name": "Picks"})):
        assert r.status_code == 409 and r.json()["error"]["code"] == "collection_name_taken"
    assert client.get(f"/v1/collections/{other['id']}").json()["name"] == "Others"
    # renaming to its own name is no clash
    assert client.patch(f"/v1/collections/{first['id']}", json={"name": "Picks"}).status_code == 200


BAD = [
    ({}, "name"),
    ({"name": ""}, "name"),
    ({"name": "   "}, "name"),
    ({"name": "x" * 129}, "name"),
    ({"name": 7}, "name"),
    ({"name": None}, "name"),
    ({"name": "tab\tname"}, "name"),
    ({"name": "ok", "description": "x" * 2001}, "description"),
    ({"name": "ok", "description": 1}, "description"),
    ({"name": "ok", "colour": "red"}, "colour"),
]


def test_bad_bodies_are_refused_by_name(client):
    for body, field in BAD:
        r = client.post("/v1/collections", json=body)
        assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_collection", (body, r.text)
        assert r.json()["error"]["details"]["field"] == field, body
    assert client.get("/v1/collections").json()["items"] == []
    for raw in (b"[]", b"{", rb'{"name": "\u0000"}'):
        r = client.post("/v1/collections", content=raw, headers={"Content-Type": "application/json"})
        assert r.status_code == 400 and r.json()["error"]["code"] in ("invalid_input", "invalid_text"), raw


def test_members_are_added_and_removed_idempotently_and_paged(client):
    ids = [upload(client, name).json()["id"] for name in ("coffee.png", "rocket.jpg", "astronaut.png")]
    picks = create(client, "Picks").json()["id"]
    members = f"/v1/collections/{picks}/assets"
    for asset_id in ids[:2] + ids[:2]:  # twice: nothing more
        assert client.put(f"{members}/{asset_id}").status_code == 204
    assert client.get(f"/v1/collections/{picks}").json()["asset_count"] == 2
    first = client.get(members, params={"limit": 1}).json()
    second = client.get(members, params={"limit": 1, "cursor": first["next_cursor"]}).json()
    assert [a["id"] for a in first["items"] + second["items"]] == [ids[1], ids[0]]
    assert second["next_cursor"] is None
    listed = client.get("/v1/assets", params={"collection": picks}).json()["items"]
    assert [a["id"] for a in listed] == [ids[1], ids[0]]
    for _ in range(2):  # removing a non-member changes nothing
        assert client.delete(f"{members}/{ids[0]}").status_code == 204
    assert [a["id"] for a in client.get(members).json()["items"]] == [ids[1]]
    # filters combine: in the collection and with the tag
    client.patch(f"/v1/assets/{ids[1]}", json={"tags": ["hero"]})
    client.patch(f"/v1/assets/{ids[2]}", json={"tags": ["hero"]})
    both = client.get("/v1/assets", params={"collection": picks, "tag": "hero"}).json()["items"]
    assert [a["id"] for a in both] == [ids[1]]


def test_unknown_collection_or_asset_is_404(client):
    asset_id = upload(client, "coffee.png").json()["id"]
    picks = create(client, "Picks").json()["id"]
    for path in (f"/v1/collections/{'0' * 32}/assets/{asset_id}", f"/v1/collections/{picks}/assets/{'0' * 32}",
                 f"/v1/collections/nope/assets/{asset_id}", f"/v1/collections/{picks}/assets/nope"):
        for method in ("PUT", "DELETE"):
            r = client.request(method, path)
            assert r.status_code == 404 and r.json()["error"]["code"] == "not_found", (method, path)
    assert client.get(f"/v1/collections/{'0' * 32}/assets").status_code == 404
    assert client.get("/v1/assets", params={"collection": "0" * 32}).json()["items"] == []
    assert client.get("/v1/assets", params={"collection": "not-an-id"}).status_code == 400
    assert client.get("/v1/collections", params={"cursor": "bogus"}).json()["error"]["code"] == "invalid_cursor"


def test_deleting_an_asset_or_a_collection_cascades_to_membership_only(client):
    keep, gone = (upload(client, name).json()["id"] for name in ("coffee.png", "rocket.jpg"))
    picks = create(client, "Picks").json()["id"]
    other = create(client, "Other").json()["id"]
    for collection in (picks, other):
        for asset_id in (keep, gone):
            client.put(f"/v1/collections/{collection}/assets/{asset_id}")
    assert client.delete(f"/v1/assets/{gone}").status_code == 204
    assert [a["id"] for a in client.get(f"/v1/collections/{picks}/assets").json()["items"]] == [keep]
    assert client.get(f"/v1/collections/{other}").json()["asset_count"] == 1
    assert client.delete(f"/v1/collections/{picks}").status_code == 204
    assert client.get(f"/v1/assets/{keep}").status_code == 200  # the asset stays
    assert client.get(f"/v1/collections/{other}").json()["asset_count"] == 1


def test_collections_list_pages_newest_first(client):
    made = [create(client, f"c{i}").json()["id"] for i in range(3)]
    first = client.get("/v1/collections", params={"limit": 2}).json()
    rest = client.get("/v1/collections", params={"limit": 2, "cursor": first["next_cursor"]}).json()
    assert [c["id"] for c in first["items"] + rest["items"]] == made[::-1]
    assert rest["next_cursor"] is None


def test_migration_0008_downgrades_and_upgrades_with_assets_kept(client):
    from alembic import command
    from sqlalchemy import inspect

    from vitrina.storage.catalog.db import _alembic_config, upgrade

    asset_id = upload(client, "coffee.png").json()["id"]
    client.patch(f"/v1/assets/{asset_id}", json={"title": "Coffee", "tags": ["cup"]})
    picks = create(client, "Picks").json()["id"]
    client.put(f"/v1/collections/{picks}/assets/{asset_id}")
    engine = client.runtime.engine
    command.downgrade(_alembic_config(engine), "0007")
    tables = inspect(engine).get_table_names()
    assert "collections" not in tables and "collection_assets" not in tables
    assert "title" not in {c["name"] for c in inspect(engine).get_columns("assets")}
    upgrade(engine)
    again = client.get(f"/v1/assets/{asset_id}").json()
    assert (again["title"], again["metadata_version"], again["tags"]) == (None, 0, ["cup"])  # tags predate 0008
    assert client.get("/v1/collections").json()["items"] == []
