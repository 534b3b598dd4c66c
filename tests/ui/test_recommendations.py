"""The recommendations page in a real browser, over a tiny data set (three blocks of
ten items, each user clicking in its own block): the leaderboard of the kept
evaluation, a user's preview from the promoted model, and monitoring of logged
impressions and clicks per model."""

from __future__ import annotations

import random
import time

import httpx
import pytest
from click.testing import CliRunner

from tests.ui.browser import assert_accessible, assert_looks_like
from tests.ui.test_experiments import assert_fits_a_phone
from vitrina.cli import main
from vitrina.experiments_service import ExperimentService
from vitrina.recs import leaderboard
from vitrina.recs.artefacts import ModelStore
from vitrina.recs.serving import RecsService

A = "default"
T0 = time.time() - 30 * 86_400


@pytest.fixture(scope="module")
def trained(dev_server) -> str:
    """Items and clicks logged through the API, evaluated, trained and promoted with
    the CLI, as a person would; the promoted model's name."""
    base, rt = dev_server
    rng = random.Random(7)
    topics = ("espresso and coffee beans", "marathon running shoes", "planets and rockets")
    items = [{"id": f"b{b}-i{i}", "type": "article", "title": f"{topics[b]}, part {i}"}
             for b in range(3) for i in range(10)]
    events = [{"unit_id": f"u{b}-{u}", "item_id": f"b{b}-i{i}", "event": "click",
               "timestamp": T0 + 3600 * (u + n * 10) + b}
              for b in range(3) for u in range(10) for n, i in enumerate(rng.sample(range(10), 6))]
    with httpx.Client(base_url=base, timeout=30) as http:
        assert http.post("/v1/items", json=items).status_code == 200
        assert http.post("/v1/events", json={"events": events}).status_code == 201
    for args in (["recs", "evaluate", "--models", "popularity,item-knn", "--split", "leave-last-out"],
                 ["recs", "train", "--models", "popularity,item-knn", "--split", "leave-last-out"]):
        done = CliRunner().invoke(main, args, obj=rt.settings, catch_exceptions=False)
        assert done.exit_code == 0, done.output
    best = next(line.split()[1] for line in done.stdout.splitlines() if line.startswith("saved "))
    done = CliRunner().invoke(main, ["recs", "promote", best], obj=rt.settings, catch_exceptions=False)
    assert done.exit_code == 0, done.output
    return best


def test_leaderboard_preview_and_monitoring(dev_server, trained, page):
    base, rt = dev_server
    store = ModelStore(rt.store)
    board = leaderboard.load(store, leaderboard.history(store, A)[-1])
    page.goto(base + "/recommendations")
    rows = page.locator("#leaderboard tbody tr")
    assert [r.get_attribute("data-model") for r in rows.all()] == [m["model"] for m in board["models"]]
    first = board["models"][0]
    assert page.locator(f"#leaderboard tr[data-model='{first['model']}'] td").first.inner_text() == \
        f"{first['metrics']['ndcg@10']:.3f}"
    assert page.locator("svg.bar-chart rect.fill").count() == len(board["models"])
    assert_accessible(page)

    page.get_by_label("User id").fill("u0-0")
    page.get_by_label("How many").fill("4")
    page.get_by_role("button", name="Preview").click()
    page.locator("#preview").wait_for()
    expected = RecsService.of(rt).recommend(A, "u0-0", 4)
    assert page.locator("#preview").get_attribute("data-model") == expected.model == trained
    shown = [li.get_attribute("data-item") for li in page.locator("#preview-items li").all()]
    assert shown == [i["item_id"] for i in expected.items] and len(shown) == 4

    # a served list's impressions and one click: monitoring counts them for the model
    served = RecsService.of(rt).recommend(A, "u1-1", 5)
    ExperimentService(rt.sessions).log_events(A, [
        {"unit_id": "u1-1", "item_id": i["item_id"], "event": "impression", "request_id": served.request_id,
         "model": served.model, "position": i["position"]} for i in served.items] + [
        {"unit_id": "u1-1", "item_id": served.items[0]["item_id"], "event": "click",
         "request_id": served.request_id, "model": served.model}])
    page.reload()
    row = page.locator(f"#monitoring tr[data-model='{served.model}']")
    assert row.locator("[data-impressions]").inner_text() == "5"
    assert row.locator(".ctr").inner_text() == "20.00%"
    assert_accessible(page)
    assert_looks_like(page, "recommendations")

    assert_fits_a_phone(page)
    assert page.request.get(base + "/recommendations?user=%00").status == 400
