"""What /graphql refuses before running anything, each with a stable code and a 4xx:
over-deep, over-costly and over-long queries, malformed ones, bodies over the JSON
cap, and requests that are not GraphQL requests."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.conftest import make_settings
from tests.graphql.conftest import codes, gql
from vitrina.api.app import create_app
from vitrina.api.limits import JSON_BODY_LIMIT
from vitrina.graphql.limits import MAX_COST, MAX_TOKENS
from vitrina.testing import make_runtime

DEEPEST = "{ collections { items { assets { items { signals { colours { hex } } } } } } }"


@pytest.fixture(scope="module")
def client(tmp_path_factory) -> Iterator[TestClient]:
    tmp: Path = tmp_path_factory.mktemp("limits")
    settings = make_settings(tmp, f"sqlite:///{tmp / 'catalog.db'}")
    rt = make_runtime(settings)
    with TestClient(create_app(settings, start_workers=False, runtime=rt)) as c:
        yield c
    rt.close()


def refused(client: TestClient, query: str, code: str) -> dict:
    """The answer to a query that must be refused whole with ``code`` among its errors."""
    answer = gql(client, query, status=400)
    assert "data" not in answer and code in codes(answer), answer
    assert answer["error"]["code"] == codes(answer)[0]  # the first, as REST clients read errors
    return answer


def test_the_deepest_query_the_schema_allows_runs_and_deeper_is_refused(client) -> None:
    assert gql(client, DEEPEST) == {"data": {"collections": {"items": []}}}
    refused(client, DEEPEST.replace("{ hex }", "{ hex { x } }"), "query_too_deep")
    # a fragment counts where it is spread
    spread = "fragment C on Colour { hex { x } }\n" + DEEPEST.replace("{ hex }", "{ ...C }")
    refused(client, spread, "query_too_deep")
    # introspection is not held to it (clients read the schema with deep type references)
    deep_types = "{ __schema { types { fields { type { ofType { ofType { ofType { ofType { name } } } } } } } } }"
    assert gql(client, deep_types)["data"]["__schema"]["types"]


def test_an_over_costly_query_is_refused_before_it_runs(client) -> None:
    full = "{ assets(limit: 500) { items { id derivatives { url width height } signals { blurhash } } } }"
    assert gql(client, full) == {"data": {"assets": {"items": []}}}
    twice = "{ a: assets(limit: 500) { items { id signals { all { name value } } } } " \
            "b: collections(limit: 500) { items { assets(limit: 500) { items { id } } } } }"
    answer = refused(client, twice, "query_too_costly")
    details = answer["errors"][0]["extensions"]["details"]
    assert details["max_cost"] == MAX_COST and details["cost"] > MAX_COST
    # a page size given as a variable counts as the largest page
    by_variable = "query($n: Int!) { collections(limit: $n) { items { assets(limit: $n) { items { id } } } } }"
    r = client.post("/graphql", json={"query": by_variable, "variables": {"n": 1}})
    assert r.status_code == 400 and codes(r.json()) == ["query_too_costly"]
    # fragments spread many times are costed once each, and still counted every time
    layers = ["fragment F0 on Asset { id }"] + [f"fragment F{n} on Asset {{ ...F{n - 1} ...F{n - 1} }}"
                                                for n in range(1, 40)]
    bomb = "\n".join(layers) + "\n{ assets(limit: 1) { items { ...F39 } } }"
    refused(client, bomb, "query_too_costly")


def test_a_query_over_the_size_limits_is_refused(client) -> None:
    many = "{ " + " ".join(f"a{n}: __typename" for n in range(MAX_TOKENS)) + " }"
    refused(client, many, "query_too_large")
    r = client.post("/graphql", json={"query": "{ __typename }" + " " * 70_000})
    assert (r.status_code, r.json()["error"]["code"]) == (400, "query_too_large")
    body = json.dumps({"query": "{ __typename }", "variables": {"pad": "x" * JSON_BODY_LIMIT}})
    r = client.post("/graphql", content=body, headers={"content-type": "application/json"})
    assert (r.status_code, r.json()["error"]["code"]) == (413, "payload_too_large")


@pytest.mark.parametrize(("query", "code"), [
    ("{ assets { ", "graphql_syntax_error"),
    ("{ nothing }", "graphql_invalid_query"),
    ("{ assets(limit: \"ten\") { nextCursor } }", "graphql_invalid_query"),
    ("{ assets(limit: 99999999999999999999) { nextCursor } }", "graphql_invalid_query"),
    ("query($n: Int!) { assets(limit: $n) { nextCursor } }", "graphql_invalid_query"),  # no variables
])
def test_a_malformed_query_is_a_400_with_a_stable_code(client, query, code) -> None:
    refused(client, query, code)


def test_requests_that_are_not_graphql_are_refused_as_rest_refuses(client) -> None:
    cases = [
        (client.post("/graphql", content=b"{not json", headers={"content-type": "application/json"}),
         400, "invalid_input"),
        (client.post("/graphql", json=["{ __typename }"]), 400, "invalid_input"),
        (client.post("/graphql", json={"query": 7}), 400, "graphql_missing_query"),
        (client.post("/graphql", json={"query": "{ __typename }", "variables": [1]}), 400, "invalid_input"),
        (client.post("/graphql", json={"query": "{ __typename }", "extra": 1}), 400, "invalid_input"),
        (client.post("/graphql", json={"query": "query A { __typename }", "operationName": "B"}),
         400, "graphql_invalid_query"),
        (client.post("/graphql", content=b'{"query": "\\u0000"}', headers={"content-type": "application/json"}),
         400, "invalid_text"),
        (client.get("/graphql"), 400, "invalid_input"),
        (client.get("/graphql", params={"query": "{ __typename }", "variables": "[oops"}), 400, "invalid_input"),
        (client.get("/graphql", params={"query": 'mutation { addToCollection(collectionId: "a", assetId: "b") '
                                                 "{ id } }"}), 405, "method_not_allowed"),
        (client.put("/graphql", json={"query": "{ __typename }"}), 405, "method_not_allowed"),
    ]
    for r, status, code in cases:
        assert (r.status_code, r.json().get("error", {}).get("code")) == (status, code), r.text
    assert client.get("/graphql", params={"query": "{ __typename }"}).json() == {"data": {"__typename": "Query"}}


def test_no_ide_page_is_served(client) -> None:
    r = client.get("/graphql", headers={"accept": "text/html"})
    assert r.status_code == 400 and "html" not in r.headers["content-type"]
