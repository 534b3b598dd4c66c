"""The selection service on a real catalog: arms are the ready creatives, every policy's
probabilities over them sum to 1, the state is learned from the event log (late clicks,
repeats, contexts carried by request ids), a failing policy answers uniformly and says
so, the report and the off-policy estimate read the same log."""

from __future__ import annotations

import hashlib
import itertools
import time

import numpy as np
import pytest

from tests.conftest import make_settings
from tests.creative.conftest import PHOTOS
from vitrina.creative.policies import (
    InvalidPolicy,
    decode_context,
    encode_context,
)
from vitrina.creative.results import estimate, report
from vitrina.creative.serving import (
    NoCreatives,
    SelectionService,
)
from vitrina.errors import VitrinaError
from vitrina.experiments_service.logs import Event, write_events
from vitrina.storage.catalog.creative import CreativeRow
from vitrina.storage.catalog.db import transaction
from vitrina.storage.catalog.projects import DEFAULT_PROJECT
from vitrina.testing import make_runtime

GRID = {"headline": ["Shop now", "New in", "Last pairs"], "image": ["astronaut", "coffee"],
        "layout": ["left", "right"]}


def add_creatives(rt, campaign: str, placement: str, *, project: str = DEFAULT_PROJECT,
                  grid: dict = GRID, rejected: int = 1, photo: str = "astronaut.png") -> list[str]:
    """One creative per combination of ``grid`` on a real ingested photo; the last
    ``rejected`` are rejected. Returns the ready ids, sorted."""
    asset = rt.ingestor.ingest_file(PHOTOS / photo, project=project).asset_id
    combos = [dict(zip(grid, c)) for c in itertools.product(*grid.values())]
    ready = []
    with transaction(rt.sessions) as s:
        for n, factors in enumerate(combos):
            cid = hashlib.sha256(f"{project}{campaign}{placement}{factors}".encode()).hexdigest()
            status = "rejected" if n >= len(combos) - rejected else "ready"
            s.add(CreativeRow(project_id=project, creative_id=cid, campaign=campaign,
                              item_id="astronaut", placement=placement, brand_kit="demo",
                              brand_kit_version=1, template="hero", template_version=1,
                              variant={"factors": factors, "headline": factors["headline"]},
                              status=status, gates={}, asset_id=asset, audit={}))
            if status == "ready":
                ready.append(cid)
    return sorted(ready)


def log(rt, rows, project: str = DEFAULT_PROJECT) -> None:
    """(event, creative, request id, propensity) rows into the event log."""
    now = time.time()
    with transaction(rt.sessions) as s:
        write_events(s, project, [Event("u", e, now, request_id=r, model="creative", variant=c,
                                        propensity=p) for e, c, r, p in rows])


@pytest.fixture
def rt(tmp_path, database_url):
    settings = make_settings(tmp_path, database_url, dev=False,
                             signing={"keys": {"k1": "a-long-random-signing-secret"}})
    runtime = make_runtime(settings)
    yield runtime
    runtime.close()


@pytest.fixture
def svc(rt):
    service = SelectionService.of(rt)
    service.refresh_seconds, service.budget_seconds = 3600, 10.0
    yield service
    service.close()


@pytest.mark.parametrize("policy", ["thompson", "mvt", "uniform", "contextual"])
def test_each_policy_serves_only_ready_creatives_with_propensities_summing_to_one(rt, svc, policy):
    ready = add_creatives(rt, "spring", "square")
    config = {"policy": policy}
    context = None
    if policy == "contextual":
        config["context"] = {"device": ["mobile", "desktop"]}
        context = {"device": "mobile"}
    svc.set_policy(DEFAULT_PROJECT, "spring", "square", config)
    probs = svc.probabilities(DEFAULT_PROJECT, "spring", "square", context)
    assert sorted(probs) == ready  # the rejected one is not an arm
    assert sum(probs.values()) == pytest.approx(1.0)
    seen = set()
    for _ in range(200):
        s = svc.select(DEFAULT_PROJECT, "spring", "square", context)
        assert s.policy == policy and s.fallback is None
        assert s.propensity == pytest.approx(probs[s.creative_id])
        assert s.url.startswith("/img/k1") and s.url.endswith(s.asset_id)
        seen.add(s.creative_id)
    assert seen <= set(ready) and len(seen) > 1


def test_learns_from_the_log_late_clicks_and_repeats_count_once(rt, svc):
    ready = add_creatives(rt, "spring", "square", rejected=0)
    best, other = ready[0], ready[1]
    log(rt, [("impression", c, f"r{c[:6]}{i}", 1 / len(ready)) for c in ready for i in range(30)])
    svc.refresh(DEFAULT_PROJECT, "spring", "square")
    assert max(svc.probabilities(DEFAULT_PROJECT, "spring", "square").values()) < 0.3
    # the clicks arrive after their impressions were learned; each sent twice
    log(rt, [("click", best, f"r{best[:6]}{i}", None) for i in range(20)] * 2
        + [("click", other, f"r{other[:6]}0", None)])
    svc.refresh(DEFAULT_PROJECT, "spring", "square")
    probs = svc.probabilities(DEFAULT_PROJECT, "spring", "square")
    assert probs[best] > 0.99
    counts = svc.log.projects[DEFAULT_PROJECT].counts
    assert counts[best][""] == [30, 20, 0] and counts[other][""] == [30, 1, 0]


def test_contextual_state_comes_from_the_context_in_request_ids(rt, svc):
    ready = add_creatives(rt, "spring", "square", rejected=0)
    a, b = ready[0], ready[1]
    config = svc.set_policy(DEFAULT_PROJECT, "spring", "square",
                            {"policy": "contextual", "options": {"epsilon": 0.1},
                             "context": {"device": ["mobile", "desktop"]}})
    mobile = encode_context(config, {"device": "mobile", "country": "FR"})
    desktop = encode_context(config, {"device": "desktop"})
    assert decode_context(config, f"x.{mobile}") == {"device": "mobile"}
    rows = []
    for i in range(200):  # a is clicked on mobile, b on desktop
        for c in (a, b):
            rows.append(("impression", c, f"m{c[:4]}{i}.{mobile}", 0.5))
            rows.append(("impression", c, f"d{c[:4]}{i}.{desktop}", 0.5))
            if c == a and i % 2:
                rows.append(("click", c, f"m{c[:4]}{i}.{mobile}", None))
            if c == b and i % 2:
                rows.append(("click", c, f"d{c[:4]}{i}.{desktop}", None))
    log(rt, rows)
    svc.refresh(DEFAULT_PROJECT, "spring", "square")
    on_mobile = svc.probabilities(DEFAULT_PROJECT, "spring", "square", {"device": "mobile"})
    on_desktop = svc.probabilities(DEFAULT_PROJECT, "spring", "square", {"device": "desktop"})
    n = len(ready)
    assert on_mobile[a] == pytest.approx(0.9 + 0.1 / n) and on_desktop[b] == pytest.approx(0.9 + 0.1 / n)
    s = svc.select(DEFAULT_PROJECT, "spring", "square", {"device": "desktop"})
    assert s.request_id.endswith(desktop) and s.propensity == pytest.approx(on_desktop[s.creative_id])


def test_a_failing_policy_answers_uniformly_with_its_true_propensity(rt, svc):
    ready = add_creatives(rt, "spring", "square", rejected=0)
    with transaction(rt.sessions) as s:  # one creative without factors: mvt cannot place it
        s.get(CreativeRow, (DEFAULT_PROJECT, ready[0])).variant = {"headline": "x"}
    svc.set_policy(DEFAULT_PROJECT, "spring", "square", {"policy": "mvt"})
    s = svc.select(DEFAULT_PROJECT, "spring", "square")
    assert (s.fallback, s.policy, s.propensity) == ("uniform", "uniform", pytest.approx(1 / len(ready)))


def test_bad_policies_and_missing_creatives_are_refused(rt, svc):
    add_creatives(rt, "spring", "square")
    for bad in ({"policy": "greedy"}, {"policy": "thompson", "options": {"prior": [0, 1]}},
                {"policy": "thompson", "options": {"nope": 1}},
                {"policy": "contextual"}, {"policy": "thompson", "context": {"device": ["a"]}},
                {"policy": "contextual", "context": {"device": []}}, ["thompson"],
                {"policy": "mvt", "options": {"draws": 10**9}},
                {"policy": "mvt", "options": {"restarts": 10**9}},
                {"policy": "mvt", "options": {"draws": 2.5}},
                {"policy": "mvt", "options": {"interactions": "x"}},
                {"policy": "thompson", "options": {"prior": [1, 2, 3]}},
                {"policy": "contextual", "context": {"device": [""]}},
                {"policy": "contextual", "context": {"bad name": ["a"]}},
                {"policy": "contextual", "context": {"device": ["x" * 65]}}):
        with pytest.raises(InvalidPolicy):
            svc.set_policy(DEFAULT_PROJECT, "spring", "square", bad)
    with pytest.raises(NoCreatives):
        svc.select(DEFAULT_PROJECT, "autumn", "square")
    add_creatives(rt, "all-rejected", "square", rejected=len(list(itertools.product(*GRID.values()))))
    with pytest.raises(NoCreatives, match="no ready creative"):
        svc.select(DEFAULT_PROJECT, "all-rejected", "square")


def test_report_matches_hand_counts(rt, svc):
    ready = add_creatives(rt, "spring", "square", rejected=0)
    a, b = ready[0], ready[1]
    log(rt, [("impression", a, f"a{i}", 0.5) for i in range(10)]
        + [("impression", b, f"b{i}", 0.5) for i in range(4)]
        + [("impression", a, "a0", 0.5)]  # a repeat: one answer, one impression
        + [("click", a, f"a{i}", None) for i in range(3)] + [("click", a, "a0", None)]
        + [("purchase", a, "a1", None)]
        + [("click", b, "a5", None)]  # a click naming another creative's answer
        + [("click", b, "nowhere", None)])  # and one without an impression
    rows = {r["creative_id"]: r for r in report(rt.sessions, DEFAULT_PROJECT, "spring", "square")}
    assert (rows[a]["impressions"], rows[a]["clicks"], rows[a]["conversions"]) == (10, 3, 1)
    assert (rows[b]["impressions"], rows[b]["clicks"]) == (4, 0)
    assert rows[a]["ctr"] == 0.3 and rows[a]["ctr_interval"][0] < 0.3 < rows[a]["ctr_interval"][1]
    assert rows[ready[2]]["impressions"] == 0 and rows[ready[2]]["ctr"] is None


def test_a_bad_candidate_is_refused_before_the_logs_are_read(rt, svc):
    add_creatives(rt, "spring", "square")
    with pytest.raises(VitrinaError, match="unknown policy") as refused:
        estimate(svc, DEFAULT_PROJECT, "spring", "square", {"policy": "greedy"})
    assert refused.value.code == "invalid_candidate"
    add_creatives(rt, "all-rejected", "square", rejected=len(list(itertools.product(*GRID.values()))))
    for candidate in ({"policy": "mvt"}, {"policy": "thompson"}):
        with pytest.raises(VitrinaError, match="has none") as refused:
            estimate(svc, DEFAULT_PROJECT, "all-rejected", "square", candidate)
        assert refused.value.code == "invalid_candidate"


def test_estimate_of_a_fixed_candidate_on_uniform_logs_holds_its_true_value(rt, svc):
    ready = add_creatives(rt, "spring", "square", rejected=0)
    rates = np.linspace(0.02, 0.3, len(ready))
    rng = np.random.default_rng(7)
    rows = []
    for i in range(6000):
        k = int(rng.integers(len(ready)))
        rows.append(("impression", ready[k], f"q{i}", 1 / len(ready)))
        if rng.random() < rates[k]:
            rows.append(("click", ready[k], f"q{i}", None))
    log(rt, rows)
    out = estimate(svc, DEFAULT_PROJECT, "spring", "square",
                   {"policy": "fixed", "creative_id": ready[-1]})
    assert out["impressions"] == 6000
    for name in ("ips", "snips", "dr"):
        low, high = out["estimates"][name]["interval"]
        assert low <= rates[-1] <= high, (name, low, high)
        assert high - low < 0.15
    # a learned thompson candidate leans on the best creative and is worth more than the log
    learned = estimate(svc, DEFAULT_PROJECT, "spring", "square", {"policy": "thompson"})
    assert learned["estimates"]["snips"]["value"] > learned["logged"] + 0.05


def test_cli_sets_the_policy_reports_and_estimates(rt, svc, monkeypatch):
    import os

    from click.testing import CliRunner

    from vitrina.cli import main

    ready = add_creatives(rt, "spring", "square", rejected=0)
    log(rt, [("impression", ready[0], f"c{i}", 1 / len(ready)) for i in range(8)]
        + [("impression", ready[1], f"d{i}", 1 / len(ready)) for i in range(8)]
        + [("click", ready[0], "c1", None), ("click", ready[0], "c2", None)])
    for name in [n for n in os.environ if n.startswith("VITRINA_")]:
        monkeypatch.delenv(name)
    env = {"VITRINA_DEV": "1", "VITRINA_DATA_DIR": str(rt.settings.data_dir),
           "VITRINA_DATABASE_URL": rt.settings.database_url}

    def run(*args):
        return CliRunner().invoke(main, ["creative", *args], env=env, catch_exceptions=False)

    r = run("policy", "spring", "square", "--policy", "mvt", "--options", '{"draws": 500}')
    assert r.exit_code == 0, r.output
    assert svc.policies.get(DEFAULT_PROJECT, "spring", "square").to_dict() == \
        {"policy": "mvt", "options": {"draws": 500}}
    assert run("policy", "spring", "square", "--policy", "mvt", "--options", '{"bad": 1}').exit_code == 1
    assert run("policy", "autumn", "square", "--policy", "uniform").exit_code == 1
    r = run("report", "spring", "square")
    assert r.exit_code == 0, r.output
    line = next(x for x in r.output.splitlines() if x.startswith(ready[0][:12]))
    assert line.split()[2:5] == ["8", "2", "0.2500"]
    r = run("estimate", "spring", "square", "--policy", "fixed", "--creative", ready[0])
    assert r.exit_code == 0, r.output
    assert "16 logged impressions" in r.output and r.output.count("95%") == 3
    assert run("estimate", "spring", "square", "--policy", "fixed", "--creative", "x").exit_code == 1


def test_a_cold_placement_over_its_budget_answers_uniformly_then_by_its_policy(rt, svc):
    ready = add_creatives(rt, "spring", "square")
    svc.budget_seconds = 0.0
    s = svc.select(DEFAULT_PROJECT, "spring", "square")
    assert (s.fallback, s.propensity) == ("uniform", pytest.approx(1 / len(ready)))
    assert s.creative_id in ready and s.url is not None
    for _ in range(200):  # the build goes on in the background
        if svc.is_warm(DEFAULT_PROJECT, "spring", "square"):
            break
        time.sleep(0.01)
    s = svc.select(DEFAULT_PROJECT, "spring", "square")
    assert (s.fallback, s.policy) == (None, "thompson")


def test_with_no_refresh_interval_answers_learn_from_the_log_in_the_background(rt, svc):
    ready = add_creatives(rt, "spring", "square", rejected=0)
    svc.refresh_seconds = 0.0
    before = svc.select(DEFAULT_PROJECT, "spring", "square")
    assert before.fallback is None
    log(rt, [("impression", ready[3], f"w{i}", 0.1) for i in range(40)]
        + [("click", ready[3], f"w{i}", None) for i in range(40)])
    for _ in range(300):  # each answer starts a refresh unless one is running
        svc.select(DEFAULT_PROJECT, "spring", "square")
        if svc._snapshots[(DEFAULT_PROJECT, "spring", "square")].probs[3] > 0.7:
            break
        time.sleep(0.01)
    # Beta(41, 1) against eleven Beta(1, 1): E[X^11] = 41 / 52
    assert svc.probabilities(DEFAULT_PROJECT, "spring", "square")[ready[3]] == pytest.approx(41 / 52, abs=0.005)


def test_mvt_splits_a_combination_between_the_creatives_that_share_it(rt, svc):
    grid = {"headline": ["A", "B"], "image": ["x", "y"]}
    first = add_creatives(rt, "spring", "square", grid=grid, rejected=0)
    with transaction(rt.sessions) as s:  # the same four combinations for a second item
        for row in s.query(CreativeRow).all():
            s.add(CreativeRow(**{**{c.name: getattr(row, c.name) for c in CreativeRow.__table__.columns},
                                 "creative_id": "second" + row.creative_id[6:], "item_id": "coffee"}))
    svc.set_policy(DEFAULT_PROJECT, "spring", "square", {"policy": "mvt", "options": {"draws": 400}})
    probs = svc.probabilities(DEFAULT_PROJECT, "spring", "square")
    assert len(probs) == 8 and sum(probs.values()) == pytest.approx(1.0)
    for cid in first:
        assert probs[cid] == probs["second" + cid[6:]]


def test_estimate_of_a_contextual_candidate_reads_contexts_from_request_ids(rt, svc):
    ready = add_creatives(rt, "spring", "square", rejected=0)
    config = svc.set_policy(DEFAULT_PROJECT, "spring", "square",
                            {"policy": "contextual", "context": {"device": ["mobile", "desktop"]}})
    codes = {d: encode_context(config, {"device": d}) for d in ("mobile", "desktop")}
    best = {"mobile": ready[0], "desktop": ready[1]}
    rng = np.random.default_rng(11)
    rows = []
    for i in range(4000):  # uniform logs; the device's own best creative is clicked 40 %
        device = ("mobile", "desktop")[i % 2]
        k = int(rng.integers(len(ready)))
        rid = f"e{i}.{codes[device]}"
        rows.append(("impression", ready[k], rid, 1 / len(ready)))
        if rng.random() < (0.4 if ready[k] == best[device] else 0.02):
            rows.append(("click", ready[k], rid, None))
    log(rt, rows)
    out = estimate(svc, DEFAULT_PROJECT, "spring", "square",
                   {"policy": "contextual", "context": {"device": ["mobile", "desktop"]}})
    low, high = out["estimates"]["snips"]["interval"]
    assert out["logged"] < 0.1 and low > 0.25 and high < 0.5
    with pytest.raises(VitrinaError, match="same context space"):
        estimate(svc, DEFAULT_PROJECT, "spring", "square",
                 {"policy": "contextual", "context": {"device": ["tablet"]}})


def test_an_event_committed_late_with_a_lower_seq_is_still_learned(rt, svc, monkeypatch):
    from vitrina.creative import learning
    from vitrina.storage.catalog.experiments import EventRow

    ready = add_creatives(rt, "spring", "square", rejected=0)
    monkeypatch.setattr(learning, "LATE_SECONDS", 0.2)

    def insert(seq: int, request_id: str, event: str = "impression") -> None:
        with transaction(rt.sessions) as s:
            s.add(EventRow(seq=seq, project_id=DEFAULT_PROJECT, unit_id="u", event=event,
                           timestamp=time.time(), request_id=request_id, model="creative",
                           variant=ready[0], propensity=0.1))

    insert(1000, "a")
    svc.refresh(DEFAULT_PROJECT, "spring", "square")
    insert(2000, "b")
    svc.refresh(DEFAULT_PROJECT, "spring", "square")
    insert(1500, "c")  # took seq 1500 before "b", committed after "b" was read
    insert(1500 + 1, "a")  # a repeat of "a": counted once
    svc.refresh(DEFAULT_PROJECT, "spring", "square")  # within the window of "b"'s read
    counts = svc.log.projects[DEFAULT_PROJECT].counts[ready[0]][""]
    assert counts == [3, 0, 0]
    time.sleep(0.3)
    insert(2500, "d")
    svc.refresh(DEFAULT_PROJECT, "spring", "square")  # the window moved on: 1500 is not re-read
    svc.refresh(DEFAULT_PROJECT, "spring", "square")
    assert counts == [4, 0, 0] and svc.log.projects[DEFAULT_PROJECT].seq == 2500


def test_answers_follow_the_logged_propensities(rt, svc):
    ready = add_creatives(rt, "spring", "square", rejected=0)
    log(rt, [("impression", c, f"p{c[:6]}{i}", 0.1) for c in ready[:4] for i in range(20)]
        + [("click", c, f"p{c[:6]}{i}", None) for n, c in enumerate(ready[:4]) for i in range(2 * n + 1)])
    svc.refresh(DEFAULT_PROJECT, "spring", "square")
    probs = svc.probabilities(DEFAULT_PROJECT, "spring", "square")
    n = 4000
    counts = dict.fromkeys(ready, 0)
    for _ in range(n):
        counts[svc.select(DEFAULT_PROJECT, "spring", "square").creative_id] += 1
    for c in ready:
        p = probs[c]
        assert abs(counts[c] / n - p) <= 4.5 * (p * (1 - p) / n) ** 0.5 + 1e-3, (c, counts[c], p)
    assert min(probs.values()) < 1e-3  # the evidence moved them away from uniform
