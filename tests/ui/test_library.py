"""The library page in a real browser: photos and a video dropped on it upload through
tus, show their progress and become ready tiles; the page passes axe-core and looks
like its reference."""

from __future__ import annotations

import re

from tests.conftest import PHOTOS, VIDEO
from tests.ui.browser import assert_accessible, assert_looks_like, drop_files


def test_dropped_photo_and_video_upload_and_become_ready(dev_server, page):
    base, rt = dev_server
    page.goto(base + "/")
    assert_accessible(page)

    drop_files(page, "#dropzone", [PHOTOS / "coffee.png", VIDEO / "bikes.mp4"])

    uploads = page.locator("#uploads li")
    page.locator("#uploads li[data-asset-id]").nth(1).wait_for(timeout=30_000)
    assert sorted(uploads.all_inner_texts()) == [
        "bikes.mp4\nuploaded", "coffee.png\nuploaded"]  # one row per file, each at its end
    ids = [uploads.nth(i).get_attribute("data-asset-id") for i in range(2)]
    assert all(re.fullmatch(r"[0-9a-f]{32}", i) for i in ids)

    for asset_id in ids:  # the tiles follow the processing until the asset is ready
        page.locator(f"#card-{asset_id}[data-status='ready']").wait_for(timeout=60_000)
    stored = {a.filename: a for a in rt.assets.list("default").items}
    assert {stored["coffee.png"].id, stored["bikes.mp4"].id} == set(ids)
    assert stored["coffee.png"].sha256 == __import__("hashlib").sha256((PHOTOS / "coffee.png").read_bytes()).hexdigest()

    # the photo's tile shows its picture through a signed image URL that answers
    thumb = page.locator(f"#card-{stored['coffee.png'].id} img")
    assert re.match(r"/img/k1\.[\w-]+/", thumb.get_attribute("src"))
    assert page.evaluate("(img) => img.complete && img.naturalWidth", thumb.element_handle()) == 320
    assert_accessible(page)
    page.reload()
    assert_looks_like(page, "library")


def test_the_library_fits_a_phone(dev_server, page):
    base, _ = dev_server
    page.set_viewport_size({"width": 375, "height": 800})
    page.goto(base + "/")
    assert page.evaluate("document.documentElement.scrollWidth") <= 375  # nothing scrolls sideways
    assert page.locator("#grid .card").first.bounding_box()["width"] < 187  # two tiles a row
    assert_accessible(page)
    assert_looks_like(page, "library-phone")


def test_filters_narrow_the_grid_and_bad_values_are_a_clear_400(dev_server, page):
    base, _ = dev_server
    page.goto(base + "/")
    page.get_by_label("Kind").select_option("video")
    page.wait_for_url(base + "/?q=&color=&kind=video&status=&collection=&tag=")
    page.locator("#grid .card[data-kind='image']").first.wait_for(state="detached")
    assert page.locator("#grid .card").evaluate_all("cards => cards.map(c => c.dataset.kind)") == ["video"]

    page.goto(base + "/?color=blue")
    assert page.get_by_role("alert").get_attribute("data-code") == "invalid_color"
    response = page.request.get(base + "/?status=lost")
    assert response.status == 400 and "status" in response.text()


def test_the_upload_zone_and_filters_are_reachable_by_keyboard(dev_server, page):
    base, _ = dev_server
    page.goto(base + "/")
    reached = []
    for _ in range(12):
        page.keyboard.press("Tab")
        reached.append(page.evaluate("document.activeElement.id || document.activeElement.textContent.trim()"))
    assert reached[:3] == ["Skip to content", "Vitrina", "Library"]
    assert reached.index("files") < reached.index("q") < reached.index("color") < reached.index("kind")
    label = page.locator("label[for=files]")
    page.locator("#files").focus()
    assert label.evaluate("l => getComputedStyle(l).outlineStyle") == "solid"  # focus shows on the label
