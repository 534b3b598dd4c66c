"""`vitrina recs train / promote / ls` over events logged through the API, then
GET /v1/recommendations and /v1/items/{id}/similar from the promoted version: known,
folded-in and unknown users, exclusions, a new promotion picked up without a restart,
bad input, and another project seeing nothing of ours."""

from __future__ import annotations

import json
import time

import pytest
from click.testing import CliRunner

from vitrina.cli import main
from vitrina.recs.serving import RecsService
from vitrina.storage.catalog.projects import DEFAULT_PROJECT

B = "team-b"


def block_of(item: str) -> int:
    return int(item.split("-")[0][1:])


@pytest.fixture
def world(blocks):
    blocks.client.events = blocks.events
    return blocks.client, blocks.settings, blocks.as_a, blocks.as_b, blocks.purchased


def cli(settings, *args):
    return CliRunner().invoke(main, [str(a) for a in args], obj=settings, catch_exceptions=False)


def get(client, headers, path, **params):
    return client.get(path, params=params, headers=headers)


def test_train_promote_serve(world) -> None:
    client, settings, as_a, as_b, purchased = world
    service = RecsService.of(client.app.state.runtime)
    service.reload_seconds = 0.0  # look at the promotion on every request

    # nothing promoted yet
    r = get(client, as_a, "/v1/recommendations", user="u0-0")
    assert (r.status_code, r.json()["error"]["code"]) == (404, "no_model")

    trained = cli(settings, "recs", "train", "--models", "popularity,item-knn,ease",
                  "--split", "leave-last-out")
    assert trained.exit_code == 0, trained.output
    board = trained.stdout.splitlines()
    assert board[0].split()[:2] == ["model", "ndcg@10"]
    best = board[2].split()[0]
    assert best in ("item-knn", "ease")  # the block structure beats popularity
    assert board[-1].startswith(f"saved {best} v1 (210 events, 30 users, 30 items)")
    assert cli(settings, "recs", "promote", best).stdout.strip() == f"serving {best} v1 in {DEFAULT_PROJECT}"

    # a known user: items of its own block, none it bought, not the expired one
    r = get(client, as_a, "/v1/recommendations", user="u0-0", k=4, exclude_seen="false")
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["user"], body["model"], body["version"], body["fallback"]) == ("u0-0", best, 1, None)
    assert body["variant"] is None and body["propensity"] is None and body["request_id"]
    ids = [i["item_id"] for i in body["items"]]
    assert len(ids) == 4 and {block_of(i) for i in ids} == {0}, ids
    assert purchased["u0-0"] not in ids and "b0-i9" not in ids
    assert [i["position"] for i in body["items"]] == [0, 1, 2, 3]
    scores = [i["score"] for i in body["items"]]
    assert scores == sorted(scores, reverse=True)
    # exclude_seen (the default) leaves out every item the user touched
    seen = get(client, as_a, "/v1/recommendations", user="u0-0", k=30).json()["items"]
    touched = {e["item_id"] for e in client.events if e["unit_id"] == "u0-0"}
    assert len(touched) == 6 and not {i["item_id"] for i in seen} & touched
    assert len(seen) == 30 - len(touched | {"b0-i9"})  # all but the touched and the expired

    # an unknown user with no events: popularity; with fresh events: folded in
    r = get(client, as_a, "/v1/recommendations", user="stranger", k=5).json()
    assert (r["fallback"], len(r["items"])) == ("popularity", 5)
    new = [{"unit_id": "newbie", "item_id": f"b2-i{i}", "event": "click", "timestamp": time.time()}
           for i in range(3)]
    assert client.post("/v1/events", json={"events": new}, headers=as_a).status_code == 201
    r = get(client, as_a, "/v1/recommendations", user="newbie", k=3).json()
    assert r["fallback"] is None
    assert {block_of(i["item_id"]) for i in r["items"]} == {2}
    assert not {i["item_id"] for i in r["items"]} & {e["item_id"] for e in new}

    # a model that fails or is too slow: popularity, without the purchase
    model = service.artefact(DEFAULT_PROJECT).model

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    def slow(*args, **kwargs):
        time.sleep(0.3)
        return type(model).recommend(model, *args, **kwargs)

    for replacement in (broken, slow):
        model.recommend = replacement
        service.budget_seconds = 0.05
        r = get(client, as_a, "/v1/recommendations", user="u0-0", k=30, exclude_seen="false").json()
        assert (r["model"], r["fallback"]) == (best, "popularity")
        assert purchased["u0-0"] not in {i["item_id"] for i in r["items"]}
    del model.recommend
    service.budget_seconds = 5.0

    # similar items: the item's own block, never itself
    r = get(client, as_a, "/v1/items/b1-i0/similar", k=3).json()
    assert r["model"] == best and len(r["items"]) == 3
    assert {block_of(i["item_id"]) for i in r["items"]} == {1}
    assert "b1-i0" not in {i["item_id"] for i in r["items"]}

    # a second version, promoted while the app runs, is served at once
    again = cli(settings, "recs", "train", "--models", "popularity", "--split", "leave-last-out")
    assert again.exit_code == 0, again.output
    assert cli(settings, "recs", "promote", "popularity", "--version", "1").exit_code == 0
    r = get(client, as_a, "/v1/recommendations", user="u0-0", k=3).json()
    assert (r["model"], r["version"]) == ("popularity", 1)
    # the promotion is looked at every reload_seconds at most
    service.reload_seconds = 60.0
    assert cli(settings, "recs", "promote", best).exit_code == 0
    assert get(client, as_a, "/v1/recommendations", user="u0-0").json()["model"] == "popularity"
    service.reload_seconds = 0.0
    assert get(client, as_a, "/v1/recommendations", user="u0-0").json()["model"] == best
    assert cli(settings, "recs", "promote", "popularity").exit_code == 0
    listed = [json.loads(line) for line in cli(settings, "recs", "ls", "--json").stdout.splitlines()]
    assert sorted((m["model"], m["version"], m["serving"]) for m in listed) == \
        [(best, 1, False), ("popularity", 1, True)]
    assert all(m["counts"]["interactions"] == 213 for m in listed if m["model"] == "popularity")
    assert "ndcg@10" in listed[0]["metrics"]
    text = cli(settings, "recs", "ls").stdout
    assert "* popularity" in text
    wrong = cli(settings, "recs", "promote", best, "--version", "7")
    assert wrong.exit_code == 1 and "has no version 7" in wrong.output

    # bad input
    for params in ({"user": "u0-0", "k": 0}, {"user": "u0-0", "k": 101}, {"k": 3}, {"user": ""}):
        r = get(client, as_a, "/v1/recommendations", **params)
        assert (r.status_code, r.json()["error"]["code"]) == (400, "invalid_input"), params
    r = get(client, as_a, "/v1/recommendations", user="u0\x00")  # no catalog stores a NUL
    assert (r.status_code, r.json()["error"]["code"]) == (400, "invalid_text")
    r = get(client, as_a, "/v1/items/no-such-item/similar")
    assert (r.status_code, r.json()["error"]["code"]) == (404, "not_found")
    assert get(client, as_a, "/v1/items/b0-i1/similar", k=101).status_code == 400

    # another project: nothing of ours, and too few events to train its own
    r = get(client, as_b, "/v1/recommendations", user="u0-0")
    assert (r.status_code, r.json()["error"]["code"]) == (404, "no_model")
    assert get(client, as_b, "/v1/items/b0-i1/similar").status_code == 404
    refused = cli(settings, "recs", "train", "--project", B, "--models", "popularity")
    assert refused.exit_code == 1
    assert "too few interactions to train: 0 positive events" in refused.output
    assert "422 too_few_interactions" in refused.output
