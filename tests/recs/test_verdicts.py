"""One policy, three verdicts: two stored models (popularity and item-kNN on a block
world), served to users through an A/B test, each variant logging epsilon-greedy lists
around its own model with the propensities of each slot; clicks drawn from known
rates. The verdict's off-policy estimates are checked against each model's true value
under those rates, its A/B figures against the experiment service, its JSON is read
back, and the command prints the table and refuses bad input."""

from __future__ import annotations

import json
import random
import time
from datetime import UTC, datetime

import numpy as np
import pytest
from click.testing import CliRunner
from scipy import sparse

from tests.conftest import make_settings
from vitrina.cli import main
from vitrina.experiments_service.service import ExperimentService
from vitrina.recs.artefacts import ModelStore, read_verdict, verdict_key
from vitrina.recs.logged_slates import rankings, read_served_lists
from vitrina.recs.training import read_interactions, train
from vitrina.recs.verdicts import (
    ModelRef,
    compute,
    render,
    save_verdict,
)
from vitrina.storage.catalog.projects import DEFAULT_PROJECT as P
from vitrina.testing import make_runtime

BLOCKS, ITEMS, USERS = 3, 10, 10
T0 = time.time() - 30 * 86_400
LOG_START = T0 + 10 * 86_400
DEPTH, EPS, REQUESTS_PER_USER = 2, 0.25, 20
#: click rate of an item of the user's own block / another block, times the position's factor
OWN, OTHER, FACTOR = 0.3, 0.03, (1.0, 0.7)
CANDIDATE, INCUMBENT = ModelRef("item-knn", 1), ModelRef("popularity", 1)


def block_of(name: str) -> int:
    return int(name.split("-")[0][1:])


def click_rate(user: str, item: str | None, position: int) -> float:
    if item is None:
        return 0.0
    return (OWN if block_of(user) == block_of(item) else OTHER) * FACTOR[position]


def train_events(rng: random.Random) -> list[dict]:
    """Each user clicks 6 of its block's 10 items and buys the first (as in test_train_serve)."""
    events = []
    for b in range(BLOCKS):
        for u in range(USERS):
            user = f"u{b}-{u}"
            chosen = rng.sample(range(ITEMS), 6)
            for n, i in enumerate(chosen):
                events.append({"unit_id": user, "item_id": f"b{b}-i{i}", "event": "click",
                               "timestamp": T0 + 3600 * (u + n * USERS) + b})
            events.append({"unit_id": user, "item_id": f"b{b}-i{chosen[0]}", "event": "purchase",
                           "timestamp": T0 + 3600 * (u + 4 * USERS) + b + 1})
    return events


def serve(rt, service: ExperimentService, rng: np.random.Generator, start: float,
          requests_per_user: int, mix) -> float:
    """Log served lists: each request draws a model by ``mix(user)`` (weights by
    role), the model ranks every item, the ones the user had a positive event on
    before are dropped (as serving does), and the list is filled top down: the best
    remaining with 1 - EPS, else a uniform remaining item. Each slot's propensity is
    the mixture's, given the items above it. Returns the last time used."""
    store = ModelStore(rt.store)
    artefacts = {"incumbent": store.load(P, INCUMBENT.model, INCUMBENT.version),
                 "candidate": store.load(P, CANDIDATE.model, CANDIDATE.version)}
    users = [f"u{b}-{u}" for b in range(BLOCKS) for u in range(USERS)]
    order = {}
    for role, a in artefacts.items():
        idx, _ = a.model.recommend([a.user_index[u] for u in users], len(a.item_ids),
                                   exclude=sparse.csr_matrix((len(users), len(a.item_ids))))
        order[role] = {u: [a.item_ids[i] for i in line] for u, line in zip(users, idx)}
    catalogue = sorted(artefacts["candidate"].item_ids)
    seen = {u: set() for u in users}
    for e in service_events(rt):
        seen[e[0]].add(e[1])
    events, t = [], start
    for r in range(requests_per_user):
        for u in users:
            t += 60
            weights = mix(u)
            role = rng.choice(list(weights), p=list(weights.values()))
            greedy = {m: [i for i in order[m][u] if i not in seen[u]] for m in weights}
            prefix = dict.fromkeys(weights, 1.0)  # each model's probability of the list so far
            shown: list[str] = []
            request = f"r{start:.0f}-{r}-{u}"
            for k in range(DEPTH):
                left = [i for i in catalogue if i not in shown]
                best = {m: next(i for i in greedy[m] if i not in shown) for m in weights}
                pick = best[role] if rng.random() > EPS else left[rng.integers(len(left))]
                before = sum(weights[m] * prefix[m] for m in weights)
                for m in weights:
                    prefix[m] *= EPS / len(left) + (1 - EPS) * (pick == best[m])
                p = sum(weights[m] * prefix[m] for m in weights) / before
                events.append({"unit_id": u, "event": "impression", "item_id": pick,
                               "request_id": request, "model": role, "position": k,
                               "propensity": min(p, 1.0), "timestamp": t})
                if rng.random() < click_rate(u, pick, k):
                    events.append({"unit_id": u, "event": "click", "item_id": pick,
                                   "request_id": request, "timestamp": t + 1})
                    seen[u].add(pick)
                shown.append(pick)
    service.log_events(P, events)
    return t


def service_events(rt) -> list[tuple[str, str]]:
    from sqlalchemy import select

    from vitrina.storage.catalog.experiments import EventRow

    with rt.sessions() as s:
        return s.execute(select(EventRow.unit_id, EventRow.item_id)
                         .where(EventRow.project_id == P, EventRow.item_id.is_not(None),
                                EventRow.event.in_(["click", "purchase"]))).all()


def serve_logs(rt, service: ExperimentService, rng: np.random.Generator) -> float:
    """An exploration period (each request served by either model, half and half),
    then the A/B test (each user always by its variant's model). Returns when the
    A/B test started."""
    ab_start = serve(rt, service, rng, LOG_START, REQUESTS_PER_USER,
                     lambda u: {"incumbent": 0.5, "candidate": 0.5}) + 3600
    users = [f"u{b}-{u}" for b in range(BLOCKS) for u in range(USERS)]
    at = datetime.fromtimestamp(ab_start, UTC)
    variant = {u: service.assign(P, "recs-ab", u, log_exposure=True, now=at).variant for u in users}
    serve(rt, service, rng, ab_start + 60, 10, lambda u: {variant[u]: 1.0})
    # an incomplete list (position 1 without 0) is left out and counted
    service.log_events(P, [{"unit_id": users[0], "event": "impression", "item_id": "b0-i0",
                            "request_id": "broken", "position": 1, "propensity": 0.5,
                            "timestamp": LOG_START + 30}])
    return ab_start


@pytest.fixture
def world(tmp_path, database_url):
    settings = make_settings(tmp_path, database_url)
    rt = make_runtime(settings)
    service = ExperimentService(rt.sessions)
    service.log_events(P, train_events(random.Random(7)))
    store = ModelStore(rt.store)
    data = read_interactions(rt.sessions, P)
    for name in (INCUMBENT.model, CANDIDATE.model):
        train(rt.registries, store, P, data, [name], "leave-last-out", save=name)
    service.create(P, {"key": "recs-ab", "variants": [
        {"key": "incumbent", "value": {"model": INCUMBENT.model, "version": INCUMBENT.version}},
        {"key": "candidate", "value": {"model": CANDIDATE.model, "version": CANDIDATE.version}}]},
        {"metrics": [{"name": "clicks", "kind": "proportion", "event": "click"}]})
    ab_start = serve_logs(rt, service, np.random.default_rng(3))
    yield rt, settings, ab_start
    rt.close()


def true_value(rt, ref: ModelRef, until: float) -> float:
    """Clicks per shown slot of the model's lists at the logged requests, under the
    known rates: what the off-policy estimates estimate."""
    lists = read_served_lists(rt.sessions, P, until=until)
    ranked = rankings(ModelStore(rt.store).load(P, ref.model, ref.version), lists, DEPTH)
    return float(np.mean([click_rate(u, line[k] if k < len(line) else None, k)
                          for u, line in zip(lists.users, ranked, strict=True)
                          for k in range(DEPTH)]))


def test_off_policy_estimates_cover_the_true_values(world) -> None:
    rt, _, ab_start = world
    v = compute(rt, P, CANDIDATE, INCUMBENT, until=ab_start)
    policy = v.off_policy
    assert (policy["requests"], policy["slots"], policy["depth"]) == (600, 1200, DEPTH)
    assert policy["dropped_requests"] == 1
    truths = {"candidate": true_value(rt, CANDIDATE, ab_start),
              "incumbent": true_value(rt, INCUMBENT, ab_start)}
    assert truths["candidate"] > truths["incumbent"] + 0.1  # own-block items vs popular ones
    for role, truth in truths.items():
        assert policy[role]["agreeing_requests"] >= 100, policy[role]
        for name in ("ips", "snips", "dr"):
            est = policy[role][name]
            assert est["ci_low"] < truth < est["ci_high"], (role, name, est, truth)
    gap = truths["candidate"] - truths["incumbent"]
    for name in ("ips", "snips", "dr"):
        d = policy["difference"][name]
        assert 0 < d["ci_low"] < gap < d["ci_high"], (name, d, gap)
    lists = read_served_lists(rt.sessions, P, until=ab_start)
    assert lists.n_requests == 600 and lists.reward.sum() == policy["clicks"]
    # the DR context: a user's first request follows its 6 clicks and 1 purchase
    first = lists.users.index("u0-0")
    trained = [e for e in train_events(random.Random(7)) if e["unit_id"] == "u0-0"]
    assert lists.activity[first] == 7 and lists.seen(first) == {e["item_id"] for e in trained}
    assert lists.activity[lists.users.index("u0-0", first + 1)] >= 7
    # the A/B period's lists are there too, when not cut off
    assert read_served_lists(rt.sessions, P).n_requests == 900


def test_the_verdict_is_stored_and_read_back(world) -> None:
    rt, _, ab_start = world
    v = compute(rt, P, CANDIDATE, INCUMBENT, experiment="recs-ab", until=ab_start)
    off = v.offline
    assert off["candidate"]["ndcg@10"] > off["incumbent"]["ndcg@10"]
    assert off["candidate"]["ndcg@10"] == ModelStore(rt.store).manifest(
        P, "item-knn", 1).metrics["ndcg@10"]
    assert v.beats_incumbent and v.reasons == []

    # the A/B figures are the experiment service's, for the candidate's variant
    result = ExperimentService(rt.sessions).result(P, "recs-ab")
    mine = v.ab["metrics"][0]
    theirs = next(r for r in result.results if r.variant == "candidate")
    assert (v.ab["variant"], v.ab["control"], mine["metric"]) == ("candidate", "incumbent", "clicks")
    assert mine["effect"] == theirs.frequentist.effect and mine["p_value"] == theirs.frequentist.p_value
    assert mine["treatment_mean"] > mine["control_mean"]
    # a variant naming the model without a version serves its latest, v1 here
    ExperimentService(rt.sessions).create(P, {"key": "bare", "variants": [
        {"key": "a", "value": "popularity"}, {"key": "b", "value": {"model": "item-knn"}}]},
        {"metrics": [{"name": "clicks", "kind": "proportion", "event": "click"}]})
    assert compute(rt, P, CANDIDATE, INCUMBENT, experiment="bare").ab["variant"] == "b"

    assert read_verdict(rt.store, P, "item-knn", 1) is None
    key = save_verdict(rt.store, P, v)
    assert key == "recs/default/item-knn/v1/verdict.json" == verdict_key(P, "item-knn", 1)
    back = read_verdict(rt.store, P, "item-knn", 1)
    assert back == json.loads(json.dumps(v.to_dict()))
    assert back["candidate"] == {"model": "item-knn", "version": 1}
    assert back["incumbent"] == {"model": "popularity", "version": 1}
    assert back["beats_incumbent"] is True and back["ab"]["experiment"] == "recs-ab"
    assert set(back) >= {"offline", "off_policy", "ab", "at"}
    datetime.fromisoformat(back["at"])

    # the other way round: worse offline and off-policy
    worse = compute(rt, P, INCUMBENT, CANDIDATE, until=ab_start)
    assert worse.beats_incumbent is False
    assert any(r.startswith("offline:") for r in worse.reasons)
    assert any(r.startswith("off-policy: the SNIPS difference") for r in worse.reasons)
    save_verdict(rt.store, P, worse)
    assert read_verdict(rt.store, P, "popularity", 1)["beats_incumbent"] is False
    # an unreadable file is no verdict
    rt.store.put_bytes(verdict_key(P, "popularity", 1), b"{not json")
    assert read_verdict(rt.store, P, "popularity", 1) is None

    table = render(v)
    assert "offline" in table and "SNIPS" in table and "beats incumbent: yes" in table


def test_without_served_lists_there_is_no_off_policy_verdict(tmp_path, database_url) -> None:
    rt = make_runtime(make_settings(tmp_path, database_url))
    try:
        service = ExperimentService(rt.sessions)
        service.log_events(P, train_events(random.Random(7)))
        store, data = ModelStore(rt.store), read_interactions(rt.sessions, P)
        for name in ("popularity", "item-knn"):
            train(rt.registries, store, P, data, [name], "leave-last-out", save=name)
        v = compute(rt, P, CANDIDATE, INCUMBENT)
        assert v.off_policy is None and v.ab is None and not v.beats_incumbent
        assert v.reasons == ["off-policy: no served lists with propensities are logged"]
        assert "no served lists" in render(v)
    finally:
        rt.close()


def cli(settings, *args):
    return CliRunner().invoke(main, [str(a) for a in args], obj=settings, catch_exceptions=False)


def test_cli_prints_the_table_and_refuses_bad_input(world) -> None:
    rt, settings, ab_start = world
    ok = cli(settings, "recs", "verdicts", "item-knn", "--version", 1, "--incumbent", "popularity",
             "--experiment", "recs-ab", "--until", ab_start)
    assert ok.exit_code == 0, ok.output
    lines = ok.stdout.splitlines()
    assert lines[0].split()[:4] == ["verdict", "figure", "candidate", "item-knn"]
    assert [line.split()[:2] for line in lines[1:6]] == [
        ["offline", "ndcg@10"], ["offline", "recall@10"], ["off-policy", "IPS"],
        ["off-policy", "SNIPS"], ["off-policy", "DR"]]
    assert lines[6].split()[:2] == ["A/B", "clicks"]
    assert lines[-1] == "beats incumbent: yes"
    assert read_verdict(rt.store, P, "item-knn", 1)["beats_incumbent"] is True

    as_json = cli(settings, "recs", "verdicts", "popularity", "--version", 1,
                  "--incumbent", "item-knn:1", "--json", "--until",
                  datetime.fromtimestamp(ab_start, UTC).isoformat())
    assert as_json.exit_code == 0, as_json.output
    body = json.loads(as_json.stdout)
    assert body["beats_incumbent"] is False and body["ab"] is None
    assert body["off_policy"]["requests"] == 600

    unknown = cli(settings, "recs", "verdicts", "nope", "--version", 1, "--incumbent", "popularity")
    assert unknown.exit_code == 1
    assert "no version 1 of model 'nope'" in unknown.output and "404 not_found" in unknown.output
    missing = cli(settings, "recs", "verdicts", "item-knn", "--version", 9, "--incumbent", "popularity")
    assert missing.exit_code == 1 and "no version 9 of model 'item-knn' in this project; versions: [1]" in missing.output
    no_version = cli(settings, "recs", "verdicts", "item-knn", "--incumbent", "popularity")
    assert no_version.exit_code == 2 and "Missing option '--version'" in no_version.output
    bad = cli(settings, "recs", "verdicts", "item-knn", "--version", 1, "--incumbent", "popularity:x")
    assert bad.exit_code == 2 and "not a positive integer" in bad.output
    nobody = cli(settings, "recs", "verdicts", "item-knn", "--version", 1, "--incumbent", "als")
    assert nobody.exit_code == 1 and "no trained version of the incumbent 'als'" in nobody.output
    same = cli(settings, "recs", "verdicts", "item-knn", "--version", 1, "--incumbent", "item-knn")
    assert same.exit_code == 1 and "400 invalid_input" in same.output
    no_exp = cli(settings, "recs", "verdicts", "item-knn", "--version", 1, "--incumbent",
                 "popularity", "--experiment", "missing")
    assert no_exp.exit_code == 1 and "not_found" in no_exp.output
    no_variant = cli(settings, "recs", "verdicts", "item-knn", "--version", 1, "--incumbent",
                     "popularity", "--experiment", "recs-ab", "--variant", "incumbent")
    assert no_variant.exit_code == 1 and "is the control" in no_variant.output
    bad_name = cli(settings, "recs", "verdicts", "no/such", "--version", 1, "--incumbent", "popularity")
    assert bad_name.exit_code == 1 and "invalid_input" in bad_name.output
    helped = cli(settings, "recs", "verdicts", "--help")
    assert helped.exit_code == 0 and "--incumbent NAME[:VERSION]" in helped.output


def test_a_models_lists_follow_serving_rules(world) -> None:
    """Known users by the model, without what they touched before; a new user with
    history by fold-in; a user with none by the saved popularity."""
    from vitrina.recs.logged_slates import ServedLists

    rt, _, _ = world
    knn = ModelStore(rt.store).load(P, "item-knn", 1)
    touched = {e["item_id"] for e in train_events(random.Random(7)) if e["unit_id"] == "u1-3"}
    users = ["u1-3", "newbie", "stranger"]
    lists = ServedLists(users, users, np.zeros(3), np.arange(3), np.zeros(3, np.int64),
                        ["b0-i0"] * 3, np.ones(3), np.zeros(3), np.zeros(3),
                        [[(i, 1.0) for i in sorted(touched)],
                         [("b2-i0", 1.0), ("b2-i1", 5.0)], []], 0)
    known, newbie, stranger = rankings(knn, lists, 3)
    assert len(known) == 3 and {block_of(i) for i in known} == {1} and not set(known) & touched
    assert {block_of(i) for i in newbie} == {2} and not {"b2-i0", "b2-i1"} & set(newbie)
    assert stranger == [knn.item_ids[i] for i in np.argsort(-knn.popularity, kind="stable")[:3]]
