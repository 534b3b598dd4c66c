"""GET /v1/creatives/{campaign}/{placement} through the app: a ready creative whose URL
serves its picture, never a rejected one; a loop of answers, impressions and clicks
through the event log makes the best creative dominate; the report and the estimate
read the same log; bad input is a 4xx with its code; another project sees nothing."""

from __future__ import annotations

import httpx
import numpy as np
import pytest
from fastapi.testclient import TestClient

from tests.conftest import make_settings
from tests.creative.conftest import SIGNING, B, bearer
from tests.creative.test_serving import GRID, add_creatives
from vitrina.access.keys import create_key
from vitrina.api.app import create_app
from vitrina.creative.serving import SelectionService
from vitrina.storage.catalog.projects import DEFAULT_PROJECT
from vitrina.testing import make_runtime

PATH = "/v1/creatives/spring/square"


@pytest.fixture
def api(two_projects):
    settings, rt = two_projects
    ready = add_creatives(rt, "spring", "square")
    svc = SelectionService.of(rt)
    svc.refresh_seconds, svc.budget_seconds = 0.0, 10.0
    as_a, as_b = bearer(rt, "a", ["write"]), bearer(rt, "b", ["write"], B)
    with TestClient(create_app(settings, start_workers=False, runtime=rt)) as client:
        yield client, svc, ready, as_a, as_b
    svc.close()


def test_answers_a_ready_creative_whose_url_serves_its_picture(api):
    client, _, ready, as_a, _ = api
    served = set()
    for _ in range(150):
        r = client.get(PATH, params={"user": "u1"}, headers=as_a)
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["creative_id"] in ready and body["fallback"] is None
        assert body["policy"] == "thompson" and 0 < body["propensity"] <= 1
        assert body["factors"]["headline"] in GRID["headline"] and body["user"] == "u1"
        served.add(body["creative_id"])
    assert len(served) > 3  # Thompson with no evidence spreads its answers
    assert body["url"].startswith("http://testserver/img/k1.")
    picture = client.get(body["url"])
    assert picture.status_code == 200 and picture.headers["content-type"].startswith("image/")
    metrics = client.get("/metrics").text
    assert 'vitrina_creative_served_total{fallback="",policy="thompson"} 150.0' in metrics


def test_a_loop_through_the_event_log_makes_the_best_creative_dominate(api):
    client, svc, ready, as_a, _ = api
    svc.refresh_seconds = 3600  # learning in batches, below: no background refresh per answer
    rates = {c: 0.03 for c in ready} | {ready[4]: 0.25}
    rng = np.random.default_rng(3)
    shown = []
    for _ in range(8):  # 8 batches of 200 answers, the events logged after each batch
        events = []
        for _ in range(200):
            body = client.get(PATH, params={"user": "u"}, headers=as_a).json()
            common = {"unit_id": "u", "request_id": body["request_id"], "model": "creative",
                      "variant": body["creative_id"], "propensity": body["propensity"]}
            events.append({**common, "event": "impression"})
            if rng.random() < rates[body["creative_id"]]:
                events.append({**common, "event": "click"})
            shown.append(body["creative_id"])
        r = client.post("/v1/events", json={"events": events}, headers=as_a)
        assert r.status_code in (200, 201), r.text
        svc.refresh(DEFAULT_PROJECT, "spring", "square")
    last = shown[-400:]
    assert last.count(ready[4]) / len(last) > 0.8
    report = client.get(f"{PATH}/report", headers=as_a).json()
    assert sum(v["impressions"] for v in report["variants"]) == len(shown)
    best = max(report["variants"], key=lambda v: v["impressions"])
    assert best["creative_id"] == ready[4] and best["ctr_interval"][0] > 0.1
    r = client.post(f"{PATH}/estimate", json={"policy": "fixed", "creative_id": ready[4]},
                    headers=as_a)
    assert r.status_code == 200, r.text
    snips = r.json()["estimates"]["snips"]  # adaptive logs: close, not exact
    assert abs(snips["value"] - 0.25) < 0.05 and snips["interval"][0] < snips["value"]


def test_the_policy_is_set_per_placement(api):
    client, _, _, as_a, _ = api
    r = client.put(f"{PATH}/policy", json={"policy": "contextual",
                                            "context": {"device": ["mobile", "desktop"]}},
                   headers=as_a)
    assert r.status_code == 200, r.text
    assert client.get(f"{PATH}/policy", headers=as_a).json()["policy"] == "contextual"
    body = client.get(PATH, params={"context.device": "mobile", "context.country": "FR"},
                      headers=as_a).json()
    assert body["policy"] == "contextual" and "." in body["request_id"]
    r = client.put(f"{PATH}/policy", json={"policy": "bandit"}, headers=as_a)
    assert (r.status_code, r.json()["error"]["code"]) == (422, "invalid_policy")


@pytest.mark.parametrize(("path", "params", "status", "code"), [
    (PATH, {f"context.f{i}": "x" for i in range(9)}, 400, "invalid_context"),
    (PATH, {"context.bad name": "x"}, 400, "invalid_context"),
    (PATH, {"context.device": "x" * 65}, 400, "invalid_context"),
    (PATH, [("context.device", "a"), ("context.device", "b")], 400, "invalid_context"),
    (PATH, {"user": ""}, 400, "invalid_input"),
    ("/v1/creatives/autumn/square", {}, 404, "no_creatives"),
    ("/v1/creatives/spring/story", {}, 404, "no_creatives"),
    ("/v1/creatives/spr%20ing/square", {}, 400, "invalid_input"),
    ("/v1/creatives/autumn/square/report", {}, 404, "no_creatives"),
])
def test_bad_requests_are_refused_with_their_code(api, path, params, status, code):
    client, _, _, as_a, _ = api
    r = client.get(path, params=params, headers=as_a)
    assert r.status_code == status, r.text
    if code:
        assert r.json()["error"]["code"] == code


def test_bad_candidates_and_empty_logs_are_refused(api):
    client, _, _, as_a, _ = api
    r = client.post(f"{PATH}/estimate", json={"policy": "uniform"}, headers=as_a)
    assert (r.status_code, r.json()["error"]["code"]) == (404, "no_logs")
    body = client.get(PATH, headers=as_a).json()
    client.post("/v1/events", json={"events": [{"unit_id": "u", "event": "impression",
                                                "request_id": body["request_id"],
                                                "model": "creative", "variant": body["creative_id"],
                                                "propensity": body["propensity"]}]}, headers=as_a)
    for candidate in ({"policy": "fixed", "creative_id": "nope"}, {"policy": "greedy"},
                      {"policy": "contextual", "context": {"device": ["mobile"]}}):
        r = client.post(f"{PATH}/estimate", json=candidate, headers=as_a)
        assert (r.status_code, r.json()["error"]["code"]) == (422, "invalid_candidate"), candidate
    assert client.post(f"{PATH}/estimate", json={"policy": "uniform"},
                       headers=as_a).status_code == 200


@pytest.mark.parametrize("body", [
    {"policy": "mvt", "options": {"draws": 10**9}}, {"policy": "mvt", "options": {"restarts": 10**9}},
    {"policy": "mvt", "options": {"max_exhaustive": 10**12}}, {"policy": "mvt", "options": {"draws": True}},
    {"policy": "mvt", "options": {"prior_sd": "a"}}, {"policy": "thompson", "options": {"discount": None}},
    {"policy": "thompson", "options": {"prior": [1, 2, 3]}}, {"policy": "thompson", "options": {"": 1}},
    {"policy": "contextual", "context": {"": ["a"]}}, {"policy": "contextual", "context": {"d": ["a" * 10_000]}},
    {"policy": "contextual", "context": {f"f{i}": ["a"] for i in range(500)}},
    {"policy": 5}, {"policy": "thompson", "options": []}, [], "x", None,
])
def test_bad_policy_and_candidate_bodies_are_a_4xx(api, body):
    client, _, _, as_a, _ = api
    body_ = client.get(PATH, headers=as_a).json()
    client.post("/v1/events", json={"events": [{"unit_id": "u", "event": "impression",
                                                "request_id": body_["request_id"],
                                                "model": "creative", "variant": body_["creative_id"],
                                                "propensity": body_["propensity"]}]}, headers=as_a)
    for r in (client.put(f"{PATH}/policy", json=body, headers=as_a),
              client.post(f"{PATH}/estimate", json=body, headers=as_a)):
        assert 400 <= r.status_code < 500 and r.json()["error"]["code"], (body, r.text)
    assert client.get(f"{PATH}/policy", headers=as_a).json()["policy"] == "thompson"


def test_another_project_sees_nothing(api):
    client, _, _, as_a, as_b = api
    for method, path in (("GET", PATH), ("GET", f"{PATH}/report"), ("GET", f"{PATH}/policy")):
        r = client.request(method, path, headers=as_b)
        assert (r.status_code, r.json()["error"]["code"]) == (404, "no_creatives")
    r = client.put(f"{PATH}/policy", json={"policy": "uniform"}, headers=as_b)
    assert r.status_code == 404
    assert client.get(f"{PATH}/policy", headers=as_a).json()["policy"] == "thompson"


def test_the_sdk_chooses_and_logs_events_that_count_once(tmp_path):
    from vitrina.client import Client
    from vitrina.testing import running_server

    settings = make_settings(tmp_path, f"sqlite:///{tmp_path / 'catalog.db'}", dev=False,
                             signing={"keys": SIGNING})
    rt = make_runtime(settings)
    ready = add_creatives(rt, "spring", "square")
    key = create_key(rt.sessions, "a", ["write"], DEFAULT_PROJECT)
    with running_server(create_app(settings, start_workers=False, runtime=rt)) as url, \
            Client(url, key, timeout=10.0) as client:
        choice = client.creative("spring", "square", user="u7", context={"device": "mobile"})
        assert choice.creative_id in ready and choice.user == "u7"
        assert choice.url.startswith(f"{url}/img/k1.")
        assert httpx.get(choice.url).headers["content-type"].startswith("image/")
        events = [choice.impression(), choice.click()]
        assert events[1] | {"id": None, "event": None} == events[0] | {"id": None, "event": None}
        assert client.log_events(events).accepted == 2
        assert client.log_events(events).accepted == 0  # a retry is stored once
        rows = client._request("GET", "/v1/creatives/spring/square/report").json()["variants"]
        counted = next(r for r in rows if r["creative_id"] == choice.creative_id)
        assert (counted["impressions"], counted["clicks"]) == (1, 1)
    SelectionService.of(rt).close()
    rt.close()
