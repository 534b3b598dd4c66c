"""The usage page in a real browser: the figures of the usage service (storage by kind,
quotas, traffic) and an estimated monthly storage cost, labelled as an assumption when
the settings name no price."""

from __future__ import annotations

from tests.conftest import PHOTOS
from tests.creative.conftest import kit
from tests.creative.test_campaigns import campaign
from tests.ui.browser import assert_accessible, assert_looks_like
from tests.ui.test_asset import upload_ready
from tests.ui.test_experiments import assert_fits_a_phone
from tests.ui.test_pages import production, sign_in  # noqa: F401 (a fixture)
from vitrina.access.keys import create_key
from vitrina.creative.campaigns import CampaignService
from vitrina.creative.documents import DocumentService, parser_for
from vitrina.recs.items import ItemService
from vitrina.testing import process_all
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

    assert_fits_a_phone(page)


def test_each_project_sees_its_own_usage_campaigns_and_models(production):  # noqa: F811
    """Over HTTP on both catalogs: team-b's pages show team-b's figures, the default
    project's campaign is missing to it, and bad values are a clear 400."""
    rt, client = production
    owner = {"Authorization": f"Bearer {create_key(rt.sessions, 'owner', ['write'])}"}
    photo = client.post("/v1/assets", headers=owner, files={
        "file": ("coffee.png", (PHOTOS / "coffee.png").read_bytes())}).json()["id"]
    process_all(rt)
    ItemService.of(rt).upsert("default", "coffee", {"type": "product", "title": "Beans", "asset_ids": [photo]})
    DocumentService(rt.sessions).put("default", "brand_kit", "demo", kit(), parser_for("brand_kit", "demo"))
    CampaignService(rt).put("default", "spring", campaign(items=["coffee"], placements=["square"]))

    sign_in(client, create_key(rt.sessions, "team b", ["read"], "team-b"))
    page = client.get("/usage")
    assert page.status_code == 200 and "Nothing stored yet." in page.text
    assert 'data-quota="max_assets"' in page.text and 'data-current="0"' in page.text
    assert client.get("/creatives/spring").status_code == 404
    assert client.get("/creatives").status_code == 200 and "spring" not in client.get("/creatives").text
    board = client.get("/recommendations?user=u1")
    assert board.status_code == 200 and 'data-code="no_model"' in board.text  # said beside the form
    for bad in ("/recommendations?k=0", "/recommendations?hours=100000", "/recommendations?user=%00",
                "/creatives/bad%20name"):
        answered = client.get(bad)
        assert answered.status_code in (400, 404) and "invalid" in answered.text, bad
