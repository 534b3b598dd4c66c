"""Bad definitions, plans, assignments and log batches: a 4xx with a stable code, and
nothing written."""

from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.conftest import make_settings
from vitrina.access.keys import create_key
from vitrina.api.app import create_app
from vitrina.experiments_service import MAX_BATCH
from vitrina.runtime import Runtime
from vitrina.storage.catalog.db import upgrade
from vitrina.storage.catalog.experiments import EventRow, ExperimentRow, ExposureRow

GOOD = {"key": "hero", "variants": [{"key": "control"}, {"key": "b"}]}
PLAN = {"metrics": [{"name": "buyers", "kind": "proportion", "event": "buy"}]}


def footprint(client) -> tuple:
    with client.runtime.sessions() as s:
        rows = tuple(s.scalar(select(func.count()).select_from(t))
                     for t in (ExperimentRow, ExposureRow, EventRow))
        revisions = tuple(s.scalars(select(ExperimentRow.revision).order_by(ExperimentRow.key)))
    return rows, revisions


@pytest.fixture
def seeded(client):
    layered = {**GOOD, "key": "layered", "layer": {"layer": "home", "start": 0, "end": 5000}}
    for definition in (GOOD, layered):
        assert client.post("/v1/experiments", json={"definition": definition,
                                                    "plan": PLAN}).status_code == 201
    return client


DEFINITIONS = [
    ("unknown field", {**GOOD, "trafic": 0.5}, "invalid_experiment"),
    ("key with a slash", {**GOOD, "key": "../etc"}, "invalid_experiment"),
    ("no variants", {**GOOD, "variants": []}, "invalid_experiment"),
    ("duplicate variants", {**GOOD, "variants": [{"key": "a"}, {"key": "a"}]},
     "invalid_experiment"),
    ("negative weight", {**GOOD, "variants": [{"key": "a", "weight": -1}]}, "invalid_experiment"),
    ("traffic over 1", {**GOOD, "traffic": 1.5}, "invalid_experiment"),
    ("traffic as text", {**GOOD, "traffic": "half"}, "invalid_experiment"),
    ("unknown operator", {**GOOD, "targeting": [{"attribute": "c", "op": "like", "value": 1}]},
     "invalid_experiment"),
    ("rollout time without zone", {**GOOD, "rollout": {"stages": [
        {"start": "2026-01-01T00:00:00", "traffic": 0.1}]}}, "invalid_experiment"),
    ("rollout time not a time", {**GOOD, "rollout": {"stages": [
        {"start": "soon", "traffic": 0.1}]}}, "invalid_experiment"),
    ("overlapping running layer", {**GOOD, "key": "other",
                                   "layer": {"layer": "home", "start": 4000, "end": 6000}},
     "invalid_experiment"),
    ("not an object", ["hero"], "invalid_input"),
]


def test_bad_definitions_are_refused_and_change_nothing(seeded):
    # one catalog for all cases: a migration per case would cost more than the cases
    for what, definition, code in DEFINITIONS:
        _refused_definition(seeded, what, definition, code)


def _refused_definition(seeded, what, definition, code):
    before = footprint(seeded)
    created = seeded.post("/v1/experiments", json={"definition": definition, "plan": PLAN})
    as_hero = {**definition, "key": "hero"} if isinstance(definition, dict) and \
        definition["key"] != "../etc" else definition
    updated = seeded.put("/v1/experiments/hero", json={"definition": as_hero, "plan": PLAN})
    for r in (created, updated):
        assert r.status_code == 400, (what, r.text)
        assert r.json()["error"]["code"] == code and r.json()["error"]["message"], what
    assert footprint(seeded) == before, what


def test_a_disjoint_or_stopped_layer_is_accepted(seeded):
    disjoint = {**GOOD, "key": "beside", "layer": {"layer": "home", "start": 5000, "end": 9000}}
    assert seeded.post("/v1/experiments", json={"definition": disjoint}).status_code == 201
    seeded.post("/v1/experiments/layered/stop")
    overlapping = {**GOOD, "key": "over", "layer": {"layer": "home", "start": 0, "end": 100}}
    assert seeded.post("/v1/experiments", json={"definition": overlapping}).status_code == 201
    restart = {"definition": {**GOOD, "key": "layered", "layer": {"layer": "home", "start": 0,
                                                                  "end": 5000}}}
    assert seeded.put("/v1/experiments/layered", json=restart).json()["error"]["code"] == \
        "invalid_experiment"  # running again would overlap "over"


PLANS = [
    ("no metrics", {"metrics": []}),
    ("unknown kind", {"metrics": [{"name": "m", "kind": "median", "event": "buy"}]}),
    ("ratio without denominator", {"metrics": [{"name": "m", "kind": "ratio", "event": "buy"}]}),
    ("guardrail on unknown metric", {**PLAN, "guardrails": [{"metric": "nope"}]}),
    ("null tolerance", {**PLAN, "guardrails": [{"metric": "buyers", "tolerance": None}]}),
    ("alpha of 1", {**PLAN, "alpha": 1.0}),
    ("unknown field", {**PLAN, "metric": []}),
]


def test_bad_plans_are_refused_and_change_nothing(seeded):
    before = footprint(seeded)
    for what, plan in PLANS:
        r = seeded.post("/v1/experiments", json={"definition": {**GOOD, "key": "new"},
                                                 "plan": plan})
        assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_metric", what
        r = seeded.put("/v1/experiments/hero", json={"definition": GOOD, "plan": plan})
        assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_metric", what
    assert footprint(seeded) == before


def test_other_bad_requests(seeded):
    before = footprint(seeded)
    moved = seeded.put("/v1/experiments/hero", json={"definition": {**GOOD, "key": "zero"}})
    assert moved.json()["error"]["code"] == "invalid_experiment"
    missing = seeded.put("/v1/experiments/nope", json={"definition": {**GOOD, "key": "nope"}})
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    assert seeded.post("/v1/experiments/nope/kill").status_code == 404
    extra = seeded.post("/v1/experiments", json={"definition": GOOD, "plan": None, "x": 1})
    assert extra.status_code == 400 and extra.json()["error"]["code"] == "invalid_input"
    for payload in ({"unit_id": 42}, {"unit_id": ""}, {"unit_id": "u" * 257},
                    {"unit_id": "u", "attributes": [1]}, {"unit_id": "u", "colour": "red"}):
        r = seeded.post("/v1/experiments/hero/assign", json=payload)
        assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_input", payload
    assert seeded.post("/v1/experiments/nope/assign", json={"unit_id": "u"}).status_code == 404
    assert footprint(seeded) == before


NOW = time.time()
EXPOSURE = {"experiment": "hero", "unit_id": "u1", "variant": "b", "timestamp": NOW - 60}
EVENT = {"unit_id": "u1", "event": "buy", "value": 3.5, "timestamp": NOW - 30}
BATCHES = [
    ("exposures", [EXPOSURE, {**EXPOSURE, "experiment": "nope"}], "invalid_logs"),
    ("exposures", [EXPOSURE, {**EXPOSURE, "variant": "z"}], "invalid_logs"),
    ("exposures", [EXPOSURE, {**EXPOSURE, "timestamp": NOW * 1000}], "invalid_logs"),
    ("exposures", [EXPOSURE, {**EXPOSURE, "timestamp": -1}], "invalid_logs"),
    ("exposures", [EXPOSURE, {**EXPOSURE, "unit_id": 7}], "invalid_logs"),
    ("exposures", [EXPOSURE, {**EXPOSURE, "weight": 1}], "invalid_logs"),
    ("exposures", [EXPOSURE, "u2"], "invalid_logs"),
    ("exposures", {"u1": "b"}, "invalid_logs"),
    ("events", [EVENT, {**EVENT, "event": "buy now"}], "invalid_logs"),
    ("events", [EVENT, {**EVENT, "value": "3.5"}], "invalid_logs"),
    ("events", [EVENT, {**EVENT, "value": True}], "invalid_logs"),
    ("events", [EVENT, {**EVENT, "id": "x" * 65}], "invalid_logs"),
    ("events", [EVENT, {k: v for k, v in EVENT.items() if k != "unit_id"}], "invalid_logs"),
    ("events", [EVENT] * (MAX_BATCH + 1), "batch_too_large"),
]


def test_bad_batches_are_refused_whole(seeded):
    before = footprint(seeded)
    for i, (name, items, code) in enumerate(BATCHES):
        r = seeded.post(f"/v1/{name}", json={name: items})
        assert r.status_code == (413 if code == "batch_too_large" else 400), (i, r.text)
        err = r.json()["error"]
        assert err["code"] == code and err["message"], i
        if code == "invalid_logs" and isinstance(items, list):
            assert err["details"]["problems"][0]["index"] == 1, i  # the bad item, not the good
    assert footprint(seeded) == before


def test_malformed_bodies(seeded):
    before = footprint(seeded)
    for content in (b"not json", b"[]", b'{"events": [], "more": 1}', b'{"exposures": []}'):
        r = seeded.post("/v1/events", content=content, headers={"content-type": "application/json"})
        assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_input", content
    huge = b'{"events": [' + b" " * (17 * 1024 * 1024) + b"]}"
    r = seeded.post("/v1/events", content=huge)
    assert r.status_code == 413 and r.json()["error"]["code"] == "payload_too_large"
    assert footprint(seeded) == before


@pytest.fixture
def prod(tmp_path, database_url):
    settings = make_settings(tmp_path, database_url, dev=False,
                             signing={"keys": {"k1": "a-long-random-signing-secret"}})
    upgrade(Runtime(settings).engine)
    app = create_app(settings, start_workers=False)
    with TestClient(app) as c:
        c.sessions = app.state.runtime.sessions
        yield c


def test_scopes(prod):
    reader = {"Authorization": "Bearer " + create_key(prod.sessions, "r", ["read"])}
    writer = {"Authorization": "Bearer " + create_key(prod.sessions, "w", ["write"])}
    assert prod.get("/v1/experiments").status_code == 401
    r = prod.post("/v1/experiments", json={"definition": GOOD}, headers=reader)
    assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
    created = prod.post("/v1/experiments", json={"definition": GOOD}, headers=writer)
    assert created.status_code == 201
    assign = {"unit_id": "u1"}
    assert prod.post("/v1/experiments/hero/assign", json=assign, headers=reader).status_code == 200
    logged = prod.post("/v1/experiments/hero/assign", json={**assign, "log_exposure": True},
                       headers=reader)
    assert logged.status_code == 403 and logged.json()["error"]["details"] == {"needed": "write"}
    assert prod.post("/v1/events", json={"events": [EVENT]}, headers=reader).status_code == 403
    assert prod.post("/v1/events", json={"events": [EVENT]}, headers=writer).status_code == 201
