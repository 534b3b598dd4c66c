"""Experiments of two projects on SQLite and PostgreSQL: the same key holds two
unrelated experiments, another project's experiment is exactly as absent as a
missing one on every route, and logs of one project never reach another's results."""

from __future__ import annotations

import json
from dataclasses import asdict

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.api.test_experiments import PLAN, T0, VARIANTS, columns, same, simulate
from tests.conftest import make_settings
from vitrina.access.keys import create_key
from vitrina.api.app import create_app
from vitrina.errors import NotFound
from vitrina.experiments import AnalysisPlan, Experiment, analyse, summarise
from vitrina.experiments_service import ExperimentService
from vitrina.runtime import Runtime
from vitrina.storage.catalog.db import transaction, upgrade
from vitrina.storage.catalog.experiments import EventRow, ExposureRow
from vitrina.storage.catalog.projects import DEFAULT_PROJECT, ProjectRow

OTHER = "beta"


def add_project(sessions, project_id: str) -> None:
    with transaction(sessions) as s:
        s.add(ProjectRow(id=project_id, name=f"project {project_id}"))


class Caller:
    """An API key of one project, sending every request with it."""

    def __init__(self, client: TestClient, project: str) -> None:
        self.client, self.project = client, project
        token = create_key(client.sessions, f"{project}-admin", ["admin"], project)
        self.headers = {"Authorization": f"Bearer {token}"}

    def __getattr__(self, method: str):
        def call(path: str, **kwargs):
            return self.client.request(method.upper(), path, headers=self.headers, **kwargs)
        return call


@pytest.fixture
def app(tmp_path, database_url):
    settings = make_settings(tmp_path, database_url, dev=False,
                             signing={"keys": {"k1": "a-long-random-signing-secret"}})
    upgrade(Runtime(settings).engine)
    app = create_app(settings, start_workers=False)
    with TestClient(app) as c:
        c.sessions = app.state.runtime.sessions
        add_project(c.sessions, OTHER)
        yield c


@pytest.fixture
def a(app) -> Caller:
    return Caller(app, DEFAULT_PROJECT)


@pytest.fixture
def b(app) -> Caller:
    return Caller(app, OTHER)


def body(key="hero", plan=PLAN, variants=VARIANTS, **definition):
    return {"definition": {"key": key, "variants": variants, **definition}, "plan": plan}


def post_logs(caller, exposures, events):
    for name, items in (("exposures", exposures), ("events", events)):
        for i in range(0, len(items), 5000):
            r = caller.post(f"/v1/{name}", json={name: items[i:i + 5000]})
            assert r.status_code == 201, r.text


def as_json(value):
    return json.loads(json.dumps(asdict(value)))


def rows_of(app, table, project):
    with app.sessions() as s:
        return s.scalar(select(func.count()).select_from(table).where(table.project_id == project))


def test_the_same_key_in_two_projects_names_two_experiments(a, b):
    three = [{"key": "x"}, {"key": "y"}, {"key": "z"}]
    other_plan = {"metrics": [{"name": "clickers", "kind": "proportion", "event": "click"}]}
    made_a = a.post("/v1/experiments", json=body(traffic=0.2))
    made_b = b.post("/v1/experiments", json=body(plan=other_plan, variants=three))
    assert made_a.status_code == made_b.status_code == 201, (made_a.text, made_b.text)
    assert a.get("/v1/experiments/hero").json() == made_a.json()
    assert b.get("/v1/experiments/hero").json() == made_b.json()
    assert made_a.json()["revision"] == made_b.json()["revision"] == 1
    assert b.get("/v1/experiments/hero").json()["plan"]["metrics"][0]["name"] == "clickers"
    assert [v["key"] for v in b.get("/v1/experiments/hero").json()["definition"]["variants"]] \
        == ["x", "y", "z"]
    assert a.get("/v1/experiments/hero").json()["plan"]["metrics"][0]["name"] == "buyers"

    # both at revision 1: answers come from each project's own definition
    for i in range(60):
        got_a = a.post("/v1/experiments/hero/assign", json={"unit_id": f"u{i}"}).json()
        got_b = b.post("/v1/experiments/hero/assign", json={"unit_id": f"u{i}"}).json()
        assert got_a["variant"] in {"control", "b"} and got_b["variant"] in {"x", "y", "z"}
        assert got_b["in_experiment"]  # B's traffic is 1.0, A's 0.2

    a.post("/v1/experiments", json=body("flag", plan=None))
    assert [e["key"] for e in a.get("/v1/experiments").json()["items"]] == ["flag", "hero"]
    assert [e["key"] for e in b.get("/v1/experiments").json()["items"]] == ["hero"]

    changed = b.put("/v1/experiments/hero", json=body(plan=other_plan, variants=three,
                                                         traffic=0.5))
    assert changed.json()["revision"] == 2
    assert b.post("/v1/experiments/hero/kill").json()["killed"] is True
    assert a.get("/v1/experiments/hero").json() == made_a.json()  # untouched
    answer = a.post("/v1/experiments/hero/assign", json={"unit_id": "u1"}).json()
    assert answer["reason"] != "killed"
    # a revision mismatch is about the caller's own experiment
    stale = a.put("/v1/experiments/hero", json={**body(traffic=0.3), "revision": 2})
    assert stale.status_code == 409 and stale.json()["error"]["details"] == {"revision": 1}


def test_layers_are_checked_within_a_project(a, b):
    layered = {"layer": {"layer": "home", "start": 0, "end": 5000}}
    assert a.post("/v1/experiments", json=body("one", **layered)).status_code == 201
    assert b.post("/v1/experiments", json=body("two", **layered)).status_code == 201
    clash = a.post("/v1/experiments", json=body("three", **layered))
    assert clash.status_code == 400 and clash.json()["error"]["code"] == "invalid_experiment"


def _routes(key):
    """Every route that names an experiment, as (method, path, json)."""
    return [
        ("get", f"/v1/experiments/{key}", None),
        ("put", f"/v1/experiments/{key}", body(key)),
        ("put", f"/v1/experiments/{key}", {**body(key), "revision": 1}),
        ("post", f"/v1/experiments/{key}/stop", None),
        ("post", f"/v1/experiments/{key}/kill", None),
        ("post", f"/v1/experiments/{key}/assign", {"unit_id": "u1"}),
        ("post", f"/v1/experiments/{key}/assign", {"unit_id": "u1", "log_exposure": True}),
        ("get", f"/v1/experiments/{key}/results", None),
        ("get", f"/v1/experiments/{key}/results.png", None),
        ("post", "/v1/exposures", {"exposures": [{"experiment": key, "unit_id": "u1",
                                                  "variant": "b", "timestamp": T0}]}),
    ]


def test_another_projects_experiment_answers_as_a_missing_one(app, a, b):
    assert a.post("/v1/experiments", json=body("secret")).status_code == 201
    exposures, events = simulate("secret", {"control": 50, "b": 50}, [0.2, 0.3])
    post_logs(a, exposures, events)
    before = a.get("/v1/experiments/secret").json()
    results_before = a.get("/v1/experiments/secret/results").json()

    for (method, path, payload), (_, missing_path, missing_payload) in zip(
            _routes("secret"), _routes("absent")):
        theirs = getattr(b, method)(path, json=payload)
        missing = getattr(b, method)(missing_path, json=missing_payload)
        assert theirs.status_code == missing.status_code, (method, path, theirs.text)
        assert theirs.status_code in (400, 404), (method, path, theirs.text)
        # the same answer, byte for byte once the key is swapped: nothing tells them apart
        assert theirs.text == missing.text.replace("absent", "secret"), (method, path)
        if path != "/v1/exposures":
            assert theirs.json()["error"]["code"] == "not_found", path
    assert [e["key"] for e in b.get("/v1/experiments").json()["items"]] == []

    # A's experiment is untouched, its results too
    assert a.get("/v1/experiments/secret").json() == before
    same(results_before, a.get("/v1/experiments/secret/results").json())
    assert rows_of(app, ExposureRow, OTHER) == 0
    # and B may use the key for its own experiment (no 409 telling that it is taken)
    assert b.post("/v1/experiments", json=body("secret")).status_code == 201
    assert a.get("/v1/experiments/secret").json() == before


def test_logs_of_one_project_never_count_in_anothers_results(app, a, b):
    for caller in (a, b):
        assert caller.post("/v1/experiments", json=body()).status_code == 201
    exp_a, ev_a = simulate("hero", {"control": 400, "b": 400}, [0.2, 0.3], seed=11)
    post_logs(a, exp_a, ev_a)
    service = ExperimentService(app.sessions)
    timeline_before = service.timeline(DEFAULT_PROJECT, "hero")
    result_before = a.get("/v1/experiments/hero/results").json()

    # B: the same unit ids in the other variants, every one a big buyer, and events of
    # A's units under B
    exp_b, ev_b = simulate("hero", {"b": 400, "control": 400}, [0.9, 0.9], seed=12)
    exp_b = [{**x, "variant": "control" if x["variant"] == "b" else "b"} for x in exp_b]
    ev_b += [{"unit_id": x["unit_id"], "event": "buy", "value": 500.0,
              "timestamp": x["timestamp"] + 60} for x in exp_a]
    post_logs(b, exp_b, ev_b)

    plan = AnalysisPlan.from_dict(PLAN)
    definition = Experiment.from_dict(body()["definition"])
    for caller, exposures, events in ((a, exp_a, ev_a), (b, exp_b, ev_b)):
        got = caller.get("/v1/experiments/hero/results")
        assert got.status_code == 200, got.text
        summary = summarise(columns(exposures, ("unit_id", "variant", "timestamp")),
                            columns(events, ("unit_id", "event", "value", "timestamp")),
                            plan.metrics)
        expected = analyse(definition, summary, plan).to_dict()
        same(json.loads(json.dumps(expected)), got.json())
        assert got.json()["multiple_exposures"] == 0
    # the same as before B logged anything (to rounding: sums may run in another order)
    same(result_before, a.get("/v1/experiments/hero/results").json())
    same(as_json(timeline_before), as_json(service.timeline(DEFAULT_PROJECT, "hero")))
    assert service.timeline(OTHER, "hero").points != timeline_before.points


def test_an_event_id_is_unique_per_project(app, a, b):
    buy = {"unit_id": "u1", "event": "buy", "value": 5.0, "timestamp": T0, "id": "order-1"}
    assert a.post("/v1/events", json={"events": [buy]}).status_code == 201
    assert b.post("/v1/events", json={"events": [{**buy, "value": 7.0}]}).status_code == 201
    assert a.post("/v1/events", json={"events": [buy]}).status_code == 201  # a retry
    with app.sessions() as s:
        stored = s.execute(select(EventRow.project_id, EventRow.value)
                           .where(EventRow.event_id == "order-1")
                           .order_by(EventRow.project_id)).all()
    assert [tuple(r) for r in stored] == [(OTHER, 7.0), (DEFAULT_PROJECT, 5.0)]


def test_the_service_refuses_a_project_that_does_not_exist(app):
    service = ExperimentService(app.sessions)
    with pytest.raises(NotFound, match="no project 'nope'"):
        service.create("nope", body()["definition"])
    with pytest.raises(NotFound, match="no project 'nope'"):
        service.log_events("nope", [{"unit_id": "u1", "event": "buy", "timestamp": T0}])
    with pytest.raises(NotFound, match="no experiment 'hero'"):
        service.get("nope", "hero")
    assert service.list("nope") == []
