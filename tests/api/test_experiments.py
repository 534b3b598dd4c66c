"""/v1/experiments end to end on SQLite and PostgreSQL: definitions, assignment equal
to the library's, stickiness after a ramp, logs in, results equal to the library's
on the same rows, SRM, guardrails and the PNG of the effect over time."""

from __future__ import annotations

import io
import json
import math
import time

import numpy as np
from PIL import Image
from sqlalchemy import func, select

from vitrina.experiments import AnalysisPlan, Assigner, Experiment, analyse, summarise
from vitrina.storage.catalog.experiments import EventRow, ExposureRow

DAY = 86_400.0
T0 = 1_780_000_000.0  # 2026-05-28, a fixed day boundary-free start
VARIANTS = [{"key": "control"}, {"key": "b"}]
PLAN = {
    "metrics": [
        {"name": "buyers", "kind": "proportion", "event": "buy", "window": 3 * DAY},
        {"name": "revenue", "kind": "mean", "event": "buy", "pre_window": 2 * DAY},
        {"name": "revenue_per_view", "kind": "ratio", "event": "buy", "denominator": "view"},
    ],
    "guardrails": [{"metric": "revenue", "tolerance": 0.05}],
}


def body(key="hero", plan=PLAN, **definition):
    return {"definition": {"key": key, "variants": VARIANTS, **definition}, "plan": plan}


def simulate(key, counts, rates, seed=1, days=4):
    """Exposures (units spread over ``days``) and buy/view events, per variant."""
    rng = np.random.default_rng(seed)
    exposures, events = [], []
    for (variant, n), rate in zip(counts.items(), rates):
        for i in range(n):
            unit = f"{variant}-{i}"
            t = T0 + float(rng.uniform(0, days * DAY))
            exposures.append({"experiment": key, "unit_id": unit, "variant": variant,
                              "timestamp": t})
            for _ in range(int(rng.poisson(2))):
                events.append({"unit_id": unit, "event": "view",
                               "timestamp": t + float(rng.uniform(-DAY, 2 * DAY))})
            if rng.random() < rate:
                events.append({"unit_id": unit, "event": "buy", "value": float(rng.gamma(2, 10)),
                               "timestamp": t + float(rng.uniform(-3 * DAY, 4 * DAY))})
    return exposures, events


def post_logs(client, exposures, events):
    for name, items in (("exposures", exposures), ("events", events)):
        for i in range(0, len(items), 5000):
            r = client.post(f"/v1/{name}", json={name: items[i:i + 5000]})
            assert r.status_code == 201, r.text
            assert r.json() == {"accepted": len(items[i:i + 5000]), "duplicates": 0}


def columns(items, names):
    return {n: np.asarray([x.get(n, 1.0) for x in items]) for n in names}


def same(a, b, path="$"):
    """Equal JSON, floats to 1e-9 (sums may run in another order)."""
    if isinstance(a, dict):
        assert isinstance(b, dict) and a.keys() == b.keys(), path
        for k in a:
            same(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, list):
        assert isinstance(b, list) and len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b)):
            same(x, y, f"{path}[{i}]")
    elif isinstance(a, float) and not isinstance(b, bool):
        assert isinstance(b, (int, float)) and math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12), \
            (path, a, b)
    else:
        assert a == b, (path, a, b)


def count(client, table):
    with client.runtime.sessions() as s:
        return s.scalar(select(func.count()).select_from(table))


def test_create_get_list_update_stop_kill(client):
    r = client.post("/v1/experiments", json=body(traffic=0.2, description="hero image"))
    assert r.status_code == 201, r.text
    created = r.json()
    assert r.headers["location"] == "/v1/experiments/hero"
    assert (created["key"], created["status"], created["killed"], created["revision"]) == \
        ("hero", "running", False, 1)
    assert created["definition"]["traffic"] == 0.2 and created["definition"]["salt"] == "hero"
    assert created["plan"]["guardrails"] == [{"metric": "revenue", "tolerance": 0.05}]
    assert client.get("/v1/experiments/hero").json() == created
    assert client.post("/v1/experiments", json=body()).json()["error"]["code"] == \
        "experiment_exists"

    client.post("/v1/experiments", json=body("flag", plan=None,
                                                variants=[{"key": "off"}, {"key": "on"}]))
    listing = client.get("/v1/experiments", params={"limit": 1}).json()
    assert [e["key"] for e in listing["items"]] == ["flag"] and listing["next_cursor"] == "flag"
    rest = client.get("/v1/experiments", params={"cursor": "flag"}).json()
    assert [e["key"] for e in rest["items"]] == ["hero"] and rest["next_cursor"] is None

    updated = client.put("/v1/experiments/hero", json=body(traffic=0.5)).json()
    assert updated["revision"] == 2 and updated["definition"]["traffic"] == 0.5
    assert updated["definition"]["description"] == ""  # a PUT replaces the whole definition
    same_again = client.put("/v1/experiments/hero", json=body(traffic=0.5)).json()
    assert same_again["revision"] == 2  # nothing changed: no new revision
    stale = client.put("/v1/experiments/hero", json={**body(traffic=0.7), "revision": 1})
    assert stale.status_code == 409 and stale.json()["error"]["code"] == "revision_mismatch"

    stopped = client.post("/v1/experiments/hero/stop").json()
    assert (stopped["status"], stopped["revision"]) == ("stopped", 3)
    assert client.get("/v1/experiments", params={"status": "stopped"}).json()["items"][0]["key"] \
        == "hero"
    answer = client.post("/v1/experiments/hero/assign", json={"unit_id": "u1"}).json()
    assert answer["reason"] == "not_running" and answer["variant"] == "control"
    client.put("/v1/experiments/hero", json=body(traffic=1.0))  # running again
    killed = client.post("/v1/experiments/hero/kill").json()
    assert (killed["killed"], killed["revision"]) == (True, 5)
    answer = client.post("/v1/experiments/hero/assign", json={"unit_id": "u1"}).json()
    assert (answer["variant"], answer["in_experiment"], answer["reason"]) == \
        ("control", False, "killed")
    assert client.get("/v1/experiments/nope").status_code == 404


def test_assignment_equals_the_library(client):
    definition = {"key": "layout", "variants": [{"key": "a", "weight": 2},
                                                {"key": "b", "value": {"cols": 3}},
                                                {"key": "c", "weight": 1}],
                  "traffic": 0.8, "salt": "layout-v1",
                  "targeting": [{"attribute": "country", "op": "in", "value": ["FR", "DE"]}]}
    assert client.post("/v1/experiments", json={"definition": definition}).status_code == 201
    assigner = Assigner(Experiment.from_dict(definition))
    reasons = set()
    for i in range(120):
        attrs = {"country": ["FR", "DE", "US"][i % 3]}
        got = client.post("/v1/experiments/layout/assign",
                          json={"unit_id": f"user-{i}", "attributes": attrs}).json()
        want = assigner.assign(f"user-{i}", attrs)
        assert got == {"experiment": "layout", "unit_id": f"user-{i}", "variant": want.variant,
                       "in_experiment": want.in_experiment, "reason": want.reason.label,
                       "value": want.value}
        reasons.add(got["reason"])
    assert reasons == {"assigned", "not_targeted", "outside_traffic"}


def test_a_unit_keeps_its_variant_when_traffic_ramps_up(client):
    client.post("/v1/experiments", json=body("ramp", traffic=0.1))
    units = [f"u{i}" for i in range(120)]

    def assign_all(log):
        return {u: client.post("/v1/experiments/ramp/assign",
                               json={"unit_id": u, "log_exposure": log}).json() for u in units}

    before = assign_all(True)
    inside = {u for u, a in before.items() if a["in_experiment"]}
    assert 4 < len(inside) < 25
    assert count(client, ExposureRow) == len(inside)  # only units in the experiment are logged
    client.put("/v1/experiments/ramp", json=body("ramp", traffic=0.5))
    after = assign_all(False)
    assert all(after[u]["in_experiment"] and after[u]["variant"] == before[u]["variant"]
               for u in inside)
    assert 40 < sum(a["in_experiment"] for a in after.values()) < 80


def test_results_equal_the_library_on_the_same_rows(client):
    assert client.post("/v1/experiments", json=body()).status_code == 201
    exposures, events = simulate("hero", {"control": 700, "b": 700}, [0.2, 0.3])
    # a unit seen in both variants is excluded; an unexposed unit's events are ignored
    exposures.append({"experiment": "hero", "unit_id": "control-0", "variant": "b",
                      "timestamp": T0 + DAY})
    events.append({"unit_id": "stranger", "event": "buy", "value": 99.0, "timestamp": T0})
    post_logs(client, exposures, events)
    post_logs(client, exposures[:50], [])  # a retried batch changes nothing
    assert count(client, ExposureRow) == len(exposures)

    got = client.get("/v1/experiments/hero/results")
    assert got.status_code == 200, got.text
    plan = AnalysisPlan.from_dict(PLAN)
    summary = summarise(columns(exposures, ("unit_id", "variant", "timestamp")),
                        columns(events, ("unit_id", "event", "value", "timestamp")), plan.metrics)
    expected = analyse(Experiment.from_dict(body()["definition"]), summary, plan).to_dict()
    same(json.loads(json.dumps(expected)), got.json())
    result = got.json()
    assert result["units"] == {"control": 699, "b": 700} and result["multiple_exposures"] == 1
    assert result["srm"]["status"] == "ok" and result["recommendation"] == "continue"
    assert len(result["results"]) == 3 and result["guardrails"][0]["status"] in ("ok", "warning")


def test_skewed_exposures_warn_of_sample_ratio_mismatch(client):
    client.post("/v1/experiments", json=body())
    exposures, events = simulate("hero", {"control": 100, "b": 900}, [0.2, 0.2], seed=2)
    post_logs(client, exposures, events)
    result = client.get("/v1/experiments/hero/results").json()
    assert result["srm"]["status"] == "mismatch" and result["srm"]["p_value"] < 0.001
    assert any("sample ratio mismatch" in w for w in result["warnings"])
    assert result["recommendation"] == "invalid"


def test_a_hurt_guardrail_recommends_stopping(client):
    plan = {"metrics": [{"name": "buyers", "kind": "proportion", "event": "buy"},
                        {"name": "errors", "kind": "proportion", "event": "error",
                         "higher_is_better": False}],
            "guardrails": [{"metric": "errors", "tolerance": 0.1}]}
    client.post("/v1/experiments", json=body(plan=plan))
    exposures, events = simulate("hero", {"control": 1000, "b": 1000}, [0.2, 0.2], seed=3)
    rng = np.random.default_rng(4)
    events += [{"unit_id": x["unit_id"], "event": "error", "timestamp": x["timestamp"] + 60}
               for x in exposures if rng.random() < (0.05 if x["variant"] == "control" else 0.25)]
    post_logs(client, exposures, events)
    result = client.get("/v1/experiments/hero/results").json()
    guard = result["guardrails"][0]
    assert (guard["metric"], guard["variant"], guard["status"]) == ("errors", "b", "stop")
    assert guard["ci_low"] > 0.1  # errors up by more than the tolerated 10%, surely
    assert result["recommendation"] == "stop"


def test_results_before_any_data_say_so(client):
    client.post("/v1/experiments", json=body())
    result = client.get("/v1/experiments/hero/results").json()
    assert result["recommendation"] == "no_data" and result["units"] == {"control": 0, "b": 0}
    assert result["results"][0]["frequentist"]["status"] == "no_units"
    assert result["results"][0]["frequentist"]["effect"] is None
    png = client.get("/v1/experiments/hero/results.png")
    assert png.status_code == 409 and png.json()["error"]["code"] == "no_data"
    client.post("/v1/experiments", json=body("flag", plan=None))
    for path in ("results", "results.png"):
        r = client.get(f"/v1/experiments/flag/{path}")
        assert r.status_code == 409 and r.json()["error"]["code"] == "no_analysis_plan"


def test_effect_over_time_png(client):
    variants = [{"key": "control"}, {"key": "b"}, {"key": "c"}]
    client.post("/v1/experiments", json=body(variants=variants))
    exposures, events = simulate("hero", {"control": 400, "b": 400, "c": 400}, [0.2, 0.3, 0.2])
    post_logs(client, exposures, events)
    r = client.get("/v1/experiments/hero/results.png")
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    image = Image.open(io.BytesIO(r.content))
    image.load()
    assert image.format == "PNG" and image.size == (900, 680)  # 9 in x (0.8 + 2 panels x 3 in)
    rgb = np.asarray(image.convert("RGB")).reshape(-1, 3).astype(int)
    effect_line = np.abs(rgb - [0xDD, 0x84, 0x52]).sum(axis=1) < 30
    band = np.abs(rgb - [0xD2, 0xDC, 0xEB]).sum(axis=1) < 30  # the shaded interval
    assert effect_line.sum() > 500 and band.sum() > 5_000
    other = client.get("/v1/experiments/hero/results.png", params={"metric": "revenue"})
    assert other.status_code == 200 and other.content != r.content
    bad = client.get("/v1/experiments/hero/results.png", params={"metric": "nope"})
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_metric"


def test_logs_are_idempotent_where_they_can_be(client):
    client.post("/v1/experiments", json=body())
    now = time.time()
    first = {"experiment": "hero", "unit_id": "u1", "variant": "b", "timestamp": now - 50}
    later = {**first, "timestamp": now - 10}
    assert client.post("/v1/exposures", json={"exposures": [later, first, later]}).status_code \
        == 201
    buy = {"unit_id": "u1", "event": "buy", "value": 5, "timestamp": now, "id": "order-1"}
    for _ in range(2):
        assert client.post("/v1/events", json={"events": [buy]}).status_code == 201
    client.post("/v1/events", json={"events": [{"unit_id": "u1", "event": "buy"}] * 2})
    with client.runtime.sessions() as s:
        assert s.execute(select(ExposureRow.timestamp)).scalars().all() == [now - 50]
        assert s.scalar(select(func.count()).select_from(EventRow)) == 3
        assert s.scalar(select(func.count()).where(EventRow.event_id == "order-1")) == 1
