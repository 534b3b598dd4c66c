"""Interaction events through the experiments' one event path, on SQLite and
PostgreSQL: the new fields validated, stored and exported; experiment results the same
whether events carry them or not."""

from __future__ import annotations

import math
import time

import pyarrow.parquet as pq
from sqlalchemy import select

from tests.api.test_experiments import body, post_logs, simulate
from vitrina.recs.events import EXPORT_COLUMNS, export_events
from vitrina.storage.catalog.experiments import EventRow
from vitrina.storage.catalog.projects import DEFAULT_PROJECT

SERVED = {"item_id": "sku-1", "session_id": "s1", "request_id": "req-9", "model": "als",
          "variant": "b", "position": 0, "propensity": 0.25}


def test_events_carry_items_sessions_and_serving_fields(client, tmp_path) -> None:
    now = time.time()
    events = [{"id": "e1", "unit_id": "u1", "event": "impression", "timestamp": now - 5, **SERVED},
              {"id": "e2", "unit_id": "u1", "event": "click", "timestamp": now - 4, **SERVED,
               "position": 3, "propensity": 1},
              {"unit_id": "u2", "event": "purchase", "value": 12.5, "timestamp": now - 3,
               "item_id": "sku-2"}]
    r = client.post("/v1/events", json={"events": events})
    assert r.status_code == 201, r.text
    assert client.post("/v1/events", json={"events": events[:2]}).json() == \
        {"accepted": 0, "duplicates": 2}  # idempotent by id
    with client.runtime.sessions() as s:
        row = s.scalars(select(EventRow).where(EventRow.event_id == "e1")).one()
    assert {k: getattr(row, k) for k in SERVED} == SERVED
    out = tmp_path / "events.parquet"
    assert export_events(client.runtime.sessions, DEFAULT_PROJECT, out) == 3
    table = pq.read_table(out)
    assert tuple(table.column_names) == EXPORT_COLUMNS
    rows = table.to_pylist()
    assert rows[0] == {"user_id": "u1", "event": "impression", "value": 1.0, "ts": now - 5,
                       "event_id": "e1", **SERVED}
    assert rows[1]["position"] == 3 and rows[1]["propensity"] == 1.0
    assert rows[2] | {"ts": 0} == {c: None for c in EXPORT_COLUMNS} | {
        "user_id": "u2", "item_id": "sku-2", "event": "purchase", "value": 12.5, "ts": 0}


def test_bad_serving_fields_are_refused_with_the_logs_code(client) -> None:
    base = {"unit_id": "u1", "event": "click"}
    for field, value in (("propensity", 0), ("propensity", 1.5), ("propensity", "0.5"),
                         ("position", -1), ("position", 1.5), ("position", True),
                         ("item_id", ""), ("item_id", "x" * 257), ("session_id", 7),
                         ("model", "bad model"), ("request_id", "r" * 65)):
        r = client.post("/v1/events", json={"events": [base, {**base, field: value}]})
        assert r.status_code == 400, (field, value)
        error = r.json()["error"]
        assert error["code"] == "invalid_logs"
        assert (error["details"]["problems"][0]["index"], error["details"]["problems"][0]["field"]) \
            == (1, field)
    with client.runtime.sessions() as s:
        assert s.scalars(select(EventRow)).all() == []  # all or nothing


def test_experiment_results_are_the_same_with_or_without_the_new_fields(client) -> None:
    exposures, events = simulate("hero", {"control": 150, "b": 150}, [0.2, 0.3], seed=4)
    client.post("/v1/experiments", json=body("hero"))
    client.post("/v1/experiments", json=body("twin"))
    post_logs(client, exposures, events)
    plain = client.get("/v1/experiments/hero/results").json()
    # the same logs again under a second experiment, every event naming an item and a session
    twin = [{**x, "experiment": "twin", "unit_id": "t-" + x["unit_id"]} for x in exposures]
    rich = [{**e, "unit_id": "t-" + e["unit_id"], "item_id": f"sku-{i % 7}",
             "session_id": f"s-{i % 31}", "position": i % 5, "propensity": 0.5}
            for i, e in enumerate(events)]
    post_logs(client, twin, rich)
    result = client.get("/v1/experiments/twin/results").json()

    def leaves(d, path=""):
        if isinstance(d, dict):
            for k, v in d.items():
                if k not in ("experiment", "computed_at", "key"):
                    yield from leaves(v, f"{path}.{k}")
        elif isinstance(d, list):
            for i, v in enumerate(d):
                yield from leaves(v, f"{path}[{i}]")
        else:
            yield path, d

    a, b = dict(leaves(result)), dict(leaves(plain))
    assert a.keys() == b.keys()
    # the same numbers (the units' names differ, so sums may add in another order)
    differ = [(k, a[k], b[k]) for k in a if not (
        a[k] == b[k] or isinstance(a[k], float) and math.isclose(a[k], b[k], rel_tol=1e-9))]
    assert not differ
