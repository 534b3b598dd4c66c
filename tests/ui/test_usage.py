"""The usage page in a real browser: the figures of the usage service (storage by kind,
quotas, traffic) and an estimated monthly storage cost, labelled as an assumption when
the settings name no price."""

from __future__ import annotations

from tests.conftest import PHOTOS
from tests.ui.browser import assert_accessible, assert_looks_like
from tests.ui.test_asset import upload_ready
from vitrina.ui.pages.usage import ASSUMED_PRICE_PER_GB_MONTH


def test_usage_shows_the_usage_services_figures_and_an_assumed_cost(dev_server, page):
    base, rt = dev_server
    upload_ready(base, PHOTOS / "coffee.png")
    report = rt.usage.report("default")
    image = next(k for k in report.kinds if k.kind == "image")

    page.goto(base + "/usage")
    row = page.locator("#by-kind tr[data-kind='image']")
    assert row.locator("[data-assets]").get_attribute("data-assets") == str(image.assets) == "1"
    assert row.locator("[data-bytes]").get_attribute("data-bytes") == str(image.bytes)
    assert int(page.locator("#by-kind tfoot [data-bytes]").get_attribute("data-bytes")) == report.bytes
    quotas = {r.get_attribute("data-quota"): r.locator("[data-current]").get_attribute("data-current")
              for r in page.locator("#quotas tbody tr").all()}
    assert quotas == {q.name: str(q.current) for q in report.quotas}
    assert quotas["max_assets"] == "1"
    cost = float(page.locator("#storage-cost").get_attribute("data-per-month"))
    assert abs(cost - report.bytes / 1e9 * ASSUMED_PRICE_PER_GB_MONTH) < 1e-6
    assert page.locator("#price-assumed").is_visible()  # no price in the settings: said so
    assert page.get_by_role("link", name="Usage").get_attribute("aria-current") == "page"
    assert_accessible(page)
    assert_looks_like(page, "usage")

    page.set_viewport_size({"width": 375, "height": 800})
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    assert_accessible(page)
