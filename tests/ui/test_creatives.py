"""The creatives pages in a real browser: a small rendered campaign (one item, two
placements, three headlines of which one is too long) as a grid of signed pictures
with each creative's gate results and a rejected one's reason code, and the serving
report per placement from logged impressions and clicks."""

from __future__ import annotations

import pytest

from tests.conftest import PHOTOS
from tests.creative.conftest import kit
from tests.creative.test_campaigns import campaign
from tests.ui.browser import assert_accessible, assert_looks_like
from tests.ui.test_asset import upload_ready
from tests.ui.test_experiments import assert_fits_a_phone
from vitrina.creative.campaigns import CampaignService, list_creatives
from vitrina.creative.documents import DocumentService, parser_for
from vitrina.creative.production import render_campaign
from vitrina.experiments_service import ExperimentService
from vitrina.recs.items import ItemService

A = "default"


@pytest.fixture(scope="module")
def rendered(dev_server) -> list[dict]:
    """The campaign "spring" rendered: coffee at two placements, three headlines each."""
    base, rt = dev_server
    photo = upload_ready(base, PHOTOS / "coffee.png")
    ItemService.of(rt).upsert(A, "coffee", {
        "type": "product", "title": "Single-origin espresso beans",
        "attributes": {"price": 14.5, "currency": "USD", "category": "coffee"}, "asset_ids": [photo]})
    DocumentService(rt.sessions).put(A, "brand_kit", "demo", kit(), parser_for("brand_kit", "demo"))
    CampaignService(rt).put(A, "spring", campaign(templates=["hero"], placements=["square", "leaderboard"],
                                                  items=["coffee"], copy={"variants": 3}))
    render_campaign(rt, A, "spring", engine="local", workers=1)
    return list_creatives(rt, A, "spring", limit=100).items


def test_a_campaign_shows_its_grid_gates_and_report(dev_server, rendered, page):
    base, rt = dev_server
    # chosen by variant, not by the listing's order (ids hash the run's own asset ids),
    # so that the screenshot opens the same cards run after run
    by_variant = sorted(rendered, key=lambda c: (c["placement"], c["variant"]))
    ready = [c for c in by_variant if c["status"] == "ready"]
    rejected = [c for c in by_variant if c["status"] == "rejected"]
    assert ready and rejected
    served = next(c for c in ready if c["placement"] == "square")
    events = [{"unit_id": f"u{i}", "event": "impression", "model": "creative", "variant": served["id"],
               "request_id": f"r{i}", "propensity": 0.5} for i in range(20)]
    events += [{"unit_id": f"u{i}", "event": "click", "model": "creative", "variant": served["id"],
                "request_id": f"r{i}"} for i in range(5)]
    ExperimentService(rt.sessions).log_events(A, events)

    page.goto(base + "/creatives")
    page.get_by_role("link", name="spring").click()
    page.wait_for_url(base + "/creatives/spring")
    counts = page.locator("#creative-counts")
    assert (counts.get_attribute("data-ready"), counts.get_attribute("data-rejected")) == (
        str(len(ready)), str(len(rejected)))
    assert page.locator("#creative-grid td[data-placement]").count() == 2  # 1 item x 2 placements
    picture = page.locator(f"[data-creative='{served['id']}'] img")
    assert picture.get_attribute("src").startswith("/img/k1.")  # signed, through delivery
    assert picture.evaluate("img => img.decode().then(() => img.naturalWidth)") <= 320
    shown = page.locator(f"#creative-grid [data-creative='{rejected[0]['id']}']")
    assert shown.locator(".reason").all_inner_texts() == rejected[0]["reasons"]
    for creative in (rejected[0], served):  # every gate's result, as the API lists them
        cell = page.locator(f"#creative-grid [data-creative='{creative['id']}']")
        cell.locator("summary").click()
        gates = {g.get_attribute("data-gate"): g.get_attribute("data-gate-status")
                 for g in cell.locator("[data-gate]").all()}
        expected = {g["code"]: g["status"] for g in creative["gates"]["gates"]}
        expected.update({f"copy-{field}": "failed" for field in creative["gates"].get("copy", {})})
        assert gates == expected and gates
    assert page.locator(f"[data-creative='{served['id']}'] [data-gate='contrast_low']").get_attribute(
        "data-gate-status") == "passed"

    row = page.locator(f"[data-report='square'] tr[data-creative='{served['id']}']")
    assert row.locator("[data-impressions]").inner_text() == "20"
    assert "25.00%" in row.inner_text()  # 5 clicks of 20 impressions
    assert_accessible(page)
    assert_looks_like(page, "campaign")

    assert_fits_a_phone(page)
    assert page.request.get(base + "/creatives/autumn").status == 404
