"""User metadata of an asset (PATCH /v1/assets/{id}, decision 022), on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from tests.api.test_assets import upload

KEYS = ("title", "alt_text", "tags", "fields", "metadata_version")


def shown(asset: dict) -> dict:
    return {k: asset[k] for k in KEYS}


@pytest.fixture
def asset_id(client) -> str:
    return upload(client, "coffee.png").json()["id"]


def test_a_new_asset_has_empty_metadata(client, asset_id):
    asset = client.get(f"/v1/assets/{asset_id}").json()
    assert shown(asset) == {"title": None, "alt_text": None, "tags": [], "fields": {}, "metadata_version": 0}
    assert asset["metadata_updated_at"] is None


def test_round_trip_and_merge_semantics(client, asset_id):
    path = f"/v1/assets/{asset_id}"
    first = client.patch(path, json={"title": "Morning coffee", "alt_text": "A cup on a table\nby a window",
                                     "tags": ["  Coffee ", "CUP", "coffee", "café"],
                                     "fields": {"iso": 200, "lens": "50mm", "f": 1.8, "flash": False}})
    assert first.status_code == 200, first.text
    assert shown(first.json()) == {
        "title": "Morning coffee", "alt_text": "A cup on a table\nby a window",
        "tags": ["café", "coffee", "cup"],  # trimmed, lower-case, once each, sorted
        "fields": {"iso": 200, "lens": "50mm", "f": 1.8, "flash": False}, "metadata_version": 1}
    assert client.get(path).json() == first.json()  # stored as answered

    # a missing member stays; null clears the title; a null field deletes that key only
    second = client.patch(path, json={"title": None, "fields": {"iso": None, "rating": 5}}).json()
    assert shown(second) == {"title": None, "alt_text": "A cup on a table\nby a window",
                             "tags": ["café", "coffee", "cup"],
                             "fields": {"lens": "50mm", "f": 1.8, "flash": False, "rating": 5},
                             "metadata_version": 2}
    assert second["metadata_updated_at"] >= first.json()["metadata_updated_at"]
    # tags are replaced as a whole; an empty list clears them
    assert client.patch(path, json={"tags": []}).json()["tags"] == []


def test_a_patch_that_changes_nothing_keeps_the_version(client, asset_id):
    path = f"/v1/assets/{asset_id}"
    client.patch(path, json={"title": "Same", "tags": ["a"]})
    for body in ({}, {"title": "Same"}, {"tags": ["A "]}, {"fields": {"gone": None}}):
        assert client.patch(path, json=body).json()["metadata_version"] == 1, body


BAD = [
    ({"title": "x" * 301}, "title"),
    ({"title": 5}, "title"),
    ({"title": "two\rlines"}, "title"),
    ({"alt_text": "x" * 1001}, "alt_text"),
    ({"alt_text": "bell\x07"}, "alt_text"),
    ({"tags": "coffee"}, "tags"),
    ({"tags": ["ok", 3]}, "tags"),
    ({"tags": ["   "]}, "tags"),
    ({"tags": ["x" * 65]}, "tags"),
    ({"tags": [f"t{i}" for i in range(51)]}, "tags"),
    ({"tags": ["tab\there"]}, "tags"),
    ({"fields": []}, "fields"),
    ({"fields": {"Upper": "x"}}, "fields"),
    ({"fields": {"": "x"}}, "fields"),
    ({"fields": {"k" * 65: "x"}}, "fields"),
    ({"fields": {f"k{i}": i for i in range(51)}}, "fields"),
    ({"fields": {"nested": {"a": 1}}}, "fields.nested"),
    ({"fields": {"list": [1]}}, "fields.list"),
    ({"fields": {"long": "x" * 1001}}, "fields.long"),
    ({"fields": {"big": 2**53}}, "fields.big"),
    ({"colour": "red"}, "colour"),
]


def test_bad_metadata_is_refused_by_name_and_changes_nothing(client, asset_id):
    path = f"/v1/assets/{asset_id}"
    before = client.patch(path, json={"title": "Kept", "tags": ["kept"], "fields": {"kept": 1}}).json()
    for body, field in BAD:
        r = client.patch(path, json=body)
        assert r.status_code == 400, (body, r.text)
        assert r.json()["error"]["code"] == "invalid_metadata"
        assert r.json()["error"]["details"]["field"] == field, body
    assert client.get(path).json() == before


def test_too_many_fields_after_merging_is_refused(client, asset_id):
    path = f"/v1/assets/{asset_id}"
    client.patch(path, json={"fields": {f"a{i}": i for i in range(30)}})
    r = client.patch(path, json={"fields": {f"b{i}": i for i in range(21)}})
    assert r.status_code == 400 and r.json()["error"]["details"]["field"] == "fields"
    assert len(client.get(path).json()["fields"]) == 30


RAW = [
    (b'{"fields": {"x": 1e400}}', "invalid_metadata"),  # infinity once parsed
    (b'{"fields": {"x": NaN}}', "invalid_metadata"),
    (b'{"fields": {"x": ' + b"9" * 5000 + b"}}", "invalid_input"),  # past any integer a parser reads
    (b'{"title": "a\\u0000b"}', "invalid_text"),
    (b'{"title": "\\ud800"}', "invalid_text"),
    (b'{"tags": ["\\udfff"]}', "invalid_text"),
    (b'{"fields": {"\\ud83d": 1}}', "invalid_text"),
    (b"[1, 2]", "invalid_input"),
    (b"not json", "invalid_input"),
    (b"", "invalid_input"),
    (b"\xff\xfe", "invalid_text"),
]


def test_hostile_bodies_are_4xx_with_a_stable_code(client, asset_id):
    path = f"/v1/assets/{asset_id}"
    for raw, code in RAW:
        r = client.patch(path, content=raw, headers={"Content-Type": "application/json"})
        assert r.status_code == 400, (raw[:40], r.text)
        assert r.json()["error"]["code"] == code, raw[:40]
    r = client.patch(path, content=b'{"title": "' + b"x" * (600 * 1024) + b'"}',
                     headers={"Content-Type": "application/json"})
    assert r.status_code == 413 and r.json()["error"]["code"] == "payload_too_large"
    assert client.get(path).json()["metadata_version"] == 0
    for unknown in ("0" * 32, "nope"):
        r = client.patch(f"/v1/assets/{unknown}", json={"title": "x"})
        assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"


def test_list_filters_by_tag_and_pages(client):
    ids = [upload(client, name).json()["id"] for name in ("coffee.png", "rocket.jpg", "astronaut.png")]
    for asset_id in ids[:2]:
        client.patch(f"/v1/assets/{asset_id}", json={"tags": ["Shortlist"]})
    client.patch(f"/v1/assets/{ids[2]}", json={"fields": {"shortlist": True}})  # a field is no tag
    first = client.get("/v1/assets", params={"tag": " SHORTLIST", "limit": 1}).json()
    second = client.get("/v1/assets", params={"tag": "shortlist", "limit": 1,
                                              "cursor": first["next_cursor"]}).json()
    assert [a["id"] for a in first["items"] + second["items"]] == [ids[1], ids[0]]
    assert second["next_cursor"] is None
    assert client.get("/v1/assets", params={"tag": "nothing"}).json()["items"] == []
    assert client.get("/v1/assets", params={"tag": ""}).status_code == 400


def test_deleting_an_asset_removes_its_user_tags(client, asset_id):
    client.patch(f"/v1/assets/{asset_id}", json={"tags": ["gone"]})
    assert client.delete(f"/v1/assets/{asset_id}").status_code == 204
    again = upload(client, "coffee.png").json()
    assert again["tags"] == [] and client.get("/v1/assets", params={"tag": "gone"}).json()["items"] == []
