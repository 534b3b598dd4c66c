"""GET /v1/recommendations?surface=: the surface's experiment assigns each user a model,
the answer names the variant and its propensity, each item carries the propensity it
was placed with, the exposure is logged once; a killed experiment, a variant naming no
usable model, and a model trained on language-model text each fall back as they should."""

from __future__ import annotations

import json

from sqlalchemy import func, select

from tests.recs.test_train_serve import cli, get, world  # noqa: F401  (world is a fixture)
from vitrina.recs.artefacts import ModelStore
from vitrina.recs.serving import RecsService
from vitrina.storage.catalog.experiments import ExposureRow
from vitrina.storage.catalog.projects import DEFAULT_PROJECT

USERS = [f"u{b}-{u}" for b in range(3) for u in range(10)]


def experiment(client, headers, variants, key="home"):
    r = client.post("/v1/experiments", headers=headers, json={
        "definition": {"key": key, "variants": variants},
        "plan": {"metrics": [{"name": "clickers", "kind": "proportion", "event": "click"}]}})
    assert r.status_code == 201, r.text


def exposures(client):
    with client.app.state.runtime.sessions() as s:
        return dict(s.execute(select(ExposureRow.variant, func.count())
                              .group_by(ExposureRow.variant)).all())


def trained(settings, *models):
    for m in models:
        r = cli(settings, "recs", "train", "--models", m, "--split", "leave-last-out")
        assert r.exit_code == 0, r.output


def test_a_surface_experiment_picks_the_model_and_logs_exposures(world) -> None:  # noqa: F811
    client, settings, as_a, _, _ = world
    service = RecsService.of(client.app.state.runtime)
    service.reload_seconds = service.surfaces.reload_seconds = 0.0
    trained(settings, "popularity", "ease")
    assert cli(settings, "recs", "promote", "popularity").exit_code == 0
    experiment(client, as_a, [{"key": "control", "value": {"model": "popularity"}},
                              {"key": "ease", "value": {"model": "ease", "explore": 0.3}}])

    seen = {}
    for user in USERS:
        body = get(client, as_a, "/v1/recommendations", user=user, k=5, surface="home").json()
        assert (body["surface"], body["experiment"]) == ("home", "home")
        assert body["variant"] in ("control", "ease") and body["propensity"] == 0.5
        assert body["model"] == ("popularity" if body["variant"] == "control" else "ease")
        assert body["version"] == 1 and body["fallback"] is None
        p = [i["propensity"] for i in body["items"]]
        if body["variant"] == "control":
            assert p == [1.0] * 5
        else:  # each place: the best remaining (>= 0.7) or a draw (0.3 / remaining pool)
            assert all(0 < x <= 1 for x in p) and all(x >= 0.7 or x <= 0.3 for x in p)
        again = get(client, as_a, "/v1/recommendations", user=user, k=5, surface="home").json()
        assert again["variant"] == body["variant"] and again["request_id"] != body["request_id"]
        seen[user] = body["variant"]
    split = {v: sum(1 for x in seen.values() if x == v) for v in ("control", "ease")}
    assert min(split.values()) >= 5, split  # both variants serve (hash split of 30 users)
    assert exposures(client) == split  # one exposure per user, however many requests

    # exploration is seeded by the request: a greedy list is the model's own ranking
    ease_user = next(u for u, v in seen.items() if v == "ease")
    plain = get(client, as_a, "/v1/recommendations", user=ease_user, k=5).json()
    assert plain["variant"] is None and plain["model"] == "popularity"  # no surface: promoted

    # the results count the exposures the serving logged
    result = client.get("/v1/experiments/home/results", headers=as_a).json()
    assert result["units"] == split

    # a surface with no experiment is a label: the promoted model, no variant
    other = get(client, as_a, "/v1/recommendations", user=ease_user, k=5, surface="sidebar").json()
    assert (other["variant"], other["experiment"], other["model"]) == (None, None, "popularity")

    # the kill switch: everyone gets the promoted model, nothing more is logged
    assert client.post("/v1/experiments/home/kill", headers=as_a).status_code == 200
    killed = get(client, as_a, "/v1/recommendations", user=ease_user, k=5, surface="home").json()
    assert (killed["variant"], killed["model"], killed["experiment"]) == (None, "popularity", "home")
    assert exposures(client) == split


def test_a_variant_without_a_usable_model_serves_the_promoted_one(world) -> None:  # noqa: F811
    client, settings, as_a, _, _ = world
    service = RecsService.of(client.app.state.runtime)
    service.reload_seconds = service.surfaces.reload_seconds = 0.0
    trained(settings, "popularity")
    assert cli(settings, "recs", "promote", "popularity").exit_code == 0
    experiment(client, as_a, [{"key": "control", "value": {"model": "no-such-model"}},
                              {"key": "b", "value": {"model": "popularity", "version": 9}}])
    for user in USERS[:6]:
        body = get(client, as_a, "/v1/recommendations", user=user, k=3, surface="home").json()
        assert (body["variant"], body["model"], body["fallback"]) == \
            (None, "popularity", "variant_unavailable")
    experiment(client, as_a, [{"key": "a", "value": {"model": "popularity", "explore": 0.9}},
                              {"key": "b", "value": 7}], key="broken")
    body = get(client, as_a, "/v1/recommendations", user=USERS[0], k=3, surface="broken").json()
    assert (body["variant"], body["fallback"]) == (None, "variant_invalid")
    assert exposures(client) == {}


def test_a_model_on_language_model_text_serves_only_after_its_verdict(world) -> None:  # noqa: F811
    client, settings, as_a, _, _ = world
    rt = client.app.state.runtime
    service = RecsService.of(rt)
    service.reload_seconds = service.surfaces.reload_seconds = 0.0
    trained(settings, "popularity", "item-knn")
    assert cli(settings, "recs", "promote", "popularity").exit_code == 0
    store = ModelStore(rt.store)
    # a copy of item-knn v1 marked as trained on generated keywords
    base = store.prefix(DEFAULT_PROJECT, "item-knn")
    manifest = json.loads(rt.store.read_bytes(base + "v1/manifest.json"))
    for name in ("model.npz", "maps.npz"):
        rt.store.put_bytes(base + f"v2/{name}", rt.store.read_bytes(base + f"v1/{name}"))
    rt.store.put_bytes(base + "v2/manifest.json", json.dumps(
        {**manifest, "version": 2, "llm": {"provider": "openai", "model": "gemma-3-270m"}}).encode())

    refused = cli(settings, "recs", "promote", "item-knn", "--version", "2")
    assert refused.exit_code != 0 and "409 needs_experiment" in refused.output

    experiment(client, as_a, [{"key": "control", "value": None},
                              {"key": "llm", "value": {"model": "item-knn", "version": 2}}])
    answers = {u: get(client, as_a, "/v1/recommendations", user=u, k=3, surface="home").json()
               for u in USERS}
    llm_users = [u for u, b in answers.items() if b["fallback"] == "variant_unavailable"]
    assert llm_users and all(answers[u]["model"] == "popularity" for u in llm_users)
    assert all(b["variant"] == "control" for u, b in answers.items() if u not in llm_users)

    rt.store.put_bytes(base + "v2/verdict.json", json.dumps({"beats_incumbent": True}).encode())
    body = get(client, as_a, "/v1/recommendations", user=llm_users[0], k=3, surface="home").json()
    assert (body["variant"], body["model"], body["version"], body["fallback"]) == \
        ("llm", "item-knn", 2, None)
    # the verdict is read again every reload_seconds, not on every request of the variant
    service.reload_seconds = 3600.0
    rt.store.put_bytes(base + "v2/verdict.json", json.dumps({"beats_incumbent": False}).encode())
    again = get(client, as_a, "/v1/recommendations", user=llm_users[0], k=3, surface="home").json()
    assert (again["model"], again["version"], again["fallback"]) == ("item-knn", 2, None)


def test_bad_shaping_parameters_are_refused(world) -> None:  # noqa: F811
    client, settings, as_a, _, _ = world
    trained(settings, "item-knn")
    assert cli(settings, "recs", "promote", "item-knn").exit_code == 0
    for params in ({"diversity": 2}, {"diversity": "nan"}, {"freshness_days": 0},
                   {"freshness_days": "inf"}, {"surface": ""}, {"surface": "x" * 129}):
        r = get(client, as_a, "/v1/recommendations", user="u0-0", **params)
        assert (r.status_code, r.json()["error"]["code"]) == (400, "invalid_input"), params
    r = get(client, as_a, "/v1/recommendations", user="u0-0", surface="home\x00")
    assert (r.status_code, r.json()["error"]["code"]) == (400, "invalid_text")  # no catalog stores a NUL
    # diversity reorders within the pool, never adds a seen or expired item
    body = get(client, as_a, "/v1/recommendations", user="u0-0", k=10, diversity=0.9,
               freshness_days=3).json()
    ids = [i["item_id"] for i in body["items"]]
    touched = {e["item_id"] for e in client.events if e["unit_id"] == "u0-0"}
    assert ids and not set(ids) & touched and "b0-i9" not in ids and len(set(ids)) == len(ids)


def test_cli_recommend_and_similar(world) -> None:  # noqa: F811
    client, settings, as_a, _, _ = world
    trained(settings, "item-knn")
    missing = cli(settings, "recs", "recommend", "u0-0")
    assert missing.exit_code != 0 and "404 no_model" in missing.output
    assert cli(settings, "recs", "promote", "item-knn").exit_code == 0
    out = cli(settings, "recs", "recommend", "u0-0", "--k", "3", "--json")
    assert out.exit_code == 0, out.output
    body = json.loads(out.stdout)
    api = get(client, as_a, "/v1/recommendations", user="u0-0", k=3).json()
    assert [i["item_id"] for i in body["items"]] == [i["item_id"] for i in api["items"]]
    text = cli(settings, "recs", "recommend", "u0-0", "--k", "3").stdout.splitlines()
    assert text[0] == "item-knn v1" and len(text) == 4 and text[1].split()[1] == body["items"][0]["item_id"]
    similar = cli(settings, "recs", "similar", "b1-i0", "--k", "2", "--json")
    assert [i["item_id"][:2] for i in json.loads(similar.stdout)["items"]] == ["b1", "b1"]
    unknown = cli(settings, "recs", "similar", "nope")
    assert unknown.exit_code != 0 and "404 not_found" in unknown.output


def test_the_surfaces_kept_are_bounded(world) -> None:  # noqa: F811
    """A caller may name any surface: only the latest ``remember`` read are kept."""
    from vitrina.recs.surfaces import Surfaces

    client = world[0]
    surfaces = Surfaces(client.app.state.runtime.sessions, remember=2)
    for name in ("a", "b", "c"):
        assert surfaces.choose(DEFAULT_PROJECT, name, "u0-0").variant is None
    assert list(surfaces._experiments) == [(DEFAULT_PROJECT, "b"), (DEFAULT_PROJECT, "c")]
