"""Experiments and their results, and recommendations, over GraphQL answer what the
REST routes answer from the same services, in the caller's project, with REST's codes;
on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from tests.graphql.conftest import codes, gql
from tests.recs.conftest import blocks  # noqa: F401  (the recs tests' catalogue of events)
from vitrina.cli import main
from vitrina.recs.serving import RecsService

T0 = 1_780_000_000.0
PLAN = {"metrics": [{"name": "buyers", "kind": "proportion", "event": "buy"}]}


def test_experiments_and_their_results(client) -> None:
    definition = {"key": "hero", "variants": [{"key": "control"}, {"key": "b"}]}
    assert client.post("/v1/experiments", json={"definition": definition, "plan": PLAN}).status_code == 201
    exposures = [{"experiment": "hero", "unit_id": f"u{n}", "variant": "control" if n % 2 else "b",
                  "timestamp": T0 + n} for n in range(40)]
    events = [{"unit_id": f"u{n}", "event": "buy", "timestamp": T0 + 100 + n} for n in range(0, 40, 3)]
    assert client.post("/v1/exposures", json={"exposures": exposures}).status_code == 201
    assert client.post("/v1/events", json={"events": events}).status_code == 201

    answer = gql(client, """{ experiments { items { key status revision definition plan results } nextCursor }
                              experiment(key: "hero") { key killed } missing: experiment(key: "nope") { key } }""")
    data = answer["data"]
    [hero] = data["experiments"]["items"]
    rest = client.get("/v1/experiments/hero").json()
    assert (hero["key"], hero["status"], hero["revision"]) == ("hero", rest["status"], rest["revision"])
    assert (hero["definition"], hero["plan"]) == (rest["definition"], rest["plan"])
    results = client.get("/v1/experiments/hero/results").json()
    assert hero["results"] == results  # the same analysis, not a summary of it
    assert results["units"] == {"control": 20, "b": 20} and [r["metric"] for r in results["results"]] == ["buyers"]
    assert data["experiment"] == {"key": "hero", "killed": False} and data["missing"] is None


def test_recommendations_for_a_user_and_a_surface(blocks) -> None:  # noqa: F811
    client, as_a, as_b = blocks.client, blocks.as_a, blocks.as_b
    query = '{ recommendations(user: "u0-0", k: 4) { user items { itemId position propensity } model version ' \
            'requestId fallback surface } }'
    assert codes(gql(client, query, headers=as_a)) == ["no_model"]  # as REST: 404 no_model
    trained = CliRunner().invoke(main, ["recs", "train", "--models", "popularity"], obj=blocks.settings)
    assert trained.exit_code == 0, trained.output
    assert CliRunner().invoke(main, ["recs", "promote", "popularity"], obj=blocks.settings).exit_code == 0
    RecsService.of(blocks.runtime).reload_seconds = 0.0

    served = gql(client, query, headers=as_a)["data"]["recommendations"]
    rest = client.get("/v1/recommendations", params={"user": "u0-0", "k": 4}, headers=as_a).json()
    assert [i["itemId"] for i in served["items"]] == [i["item_id"] for i in rest["items"]]
    assert [i["position"] for i in served["items"]] == [0, 1, 2, 3] and served["requestId"] != rest["request_id"]
    assert (served["model"], served["version"], served["user"]) == ("popularity", 1, "u0-0")
    assert blocks.purchased["u0-0"] not in [i["itemId"] for i in served["items"]]
    on_surface = gql(client, '{ recommendations(user: "u0-0", surface: "home") { surface items { itemId } } }',
                     headers=as_a)["data"]["recommendations"]
    assert on_surface["surface"] == "home" and len(on_surface["items"]) == 10
    # another project has no model of its own, and never sees ours
    assert codes(gql(client, query, headers=as_b)) == ["no_model"]
    assert codes(gql(client, '{ recommendations(user: "u", k: 101) { model } }', headers=as_a)) == ["invalid_input"]


@pytest.fixture
def client(runtime):
    """The app over a fresh catalogue, in development mode (no key needed)."""
    from fastapi.testclient import TestClient

    from vitrina.api.app import create_app

    with TestClient(create_app(runtime.settings, start_workers=False, runtime=runtime)) as c:
        yield c
