"""/graphql in production settings: the same API keys and scopes as REST (read to
query, write to change), and each key sees only its own project; on SQLite and
PostgreSQL."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from fastapi.testclient import TestClient

from tests.conftest import PHOTOS, make_settings
from tests.creative.conftest import SIGNING, bearer
from tests.graphql.conftest import codes, gql
from vitrina.api.app import create_app
from vitrina.testing import make_runtime, process_all

B = "team-b"


@pytest.fixture
def production(tmp_path, database_url):
    settings = make_settings(tmp_path, database_url, dev=False, signing={"keys": SIGNING})
    rt = make_runtime(settings)
    rt.projects.create(B)
    asset = rt.ingestor.ingest_file(PHOTOS / "coffee.png").asset_id
    process_all(rt)
    with TestClient(create_app(settings, start_workers=False, runtime=rt)) as client:
        collection = client.post("/v1/collections", json={"name": "picks"},
                                 headers=bearer(rt, "w", ["write"])).json()["id"]
        yield SimpleNamespace(client=client, rt=rt, asset=asset, collection=collection,
                              read=bearer(rt, "r", ["read"]), write=bearer(rt, "w2", ["write"]),
                              other=bearer(rt, "b", ["admin"], B))
    rt.close()


ADD = 'mutation { addToCollection(collectionId: "%s", assetId: "%s") { assetCount } }'


def test_a_key_is_needed_and_checked_as_rest_checks_it(production) -> None:
    client = production.client
    for r in (client.post("/graphql", json={"query": "{ __typename }"}),
              client.get("/graphql", params={"query": "{ __typename }"}),
              client.post("/graphql", json={"query": "{ __typename }"}, headers={"Authorization": "Bearer vk_x_y"})):
        assert (r.status_code, r.json()["error"]["code"]) == (401, "unauthorized"), r.text
    assert gql(client, "{ __typename }", headers=production.read) == {"data": {"__typename": "Query"}}


def test_reading_needs_read_and_changing_needs_write(production) -> None:
    p = production
    listed = gql(p.client, "{ assets { items { id } } }", headers=p.read)["data"]["assets"]["items"]
    assert listed == [{"id": p.asset}]
    refused = gql(p.client, ADD % (p.collection, p.asset), headers=p.read)
    assert codes(refused) == ["forbidden"] and refused["errors"][0]["extensions"]["details"] == {"needed": "write"}
    assert p.client.get(f"/v1/collections/{p.collection}", headers=p.read).json()["asset_count"] == 0
    done = gql(p.client, ADD % (p.collection, p.asset), headers=p.write)
    assert done == {"data": {"addToCollection": {"assetCount": 1}}}


def test_another_projects_records_are_not_found(production) -> None:
    p = production
    query = f'{{ asset(id: "{p.asset}") {{ id }} collection(id: "{p.collection}") {{ id }} ' \
            '  assets { items { id } } collections { items { id } } }'
    assert gql(p.client, query, headers=p.other)["data"] == {
        "asset": None, "collection": None, "assets": {"items": []}, "collections": {"items": []}}
    assert p.client.get(f"/v1/assets/{p.asset}", headers=p.other).status_code == 404  # as REST
    refused = gql(p.client, ADD % (p.collection, p.asset), headers=p.other)
    assert codes(refused) == ["not_found"]
    assert gql(p.client, query, headers=p.read)["data"]["asset"] == {"id": p.asset}
