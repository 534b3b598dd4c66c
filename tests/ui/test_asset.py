"""The asset page in a real browser: a photo with its signals and a transformation
builder whose signed URL serves the same pixels as the REST transformation; a video
whose HLS stream plays and whose storyboard scrubs."""

from __future__ import annotations

import io
import time

import httpx
import numpy
import pytest
from PIL import Image

from tests.conftest import PHOTOS, VIDEO
from tests.ui.browser import assert_accessible, assert_looks_like
from tests.ui.conftest import SIGNING
from vitrina.client.images import ImageURLs


def upload_ready(base: str, path) -> str:
    """Upload through the REST API and wait until the asset is ready."""
    with httpx.Client(base_url=base, timeout=30) as http:
        asset_id = http.post("/v1/assets", files={"file": (path.name, path.read_bytes())}).json()["id"]
        deadline = time.monotonic() + 60
        while (status := http.get(f"/v1/assets/{asset_id}").json()["status"]) not in ("ready", "failed"):
            assert time.monotonic() < deadline, f"{path.name} still {status}"
            time.sleep(0.2)
    assert status == "ready"
    return asset_id


@pytest.fixture(scope="module")
def assets(dev_server) -> dict[str, str]:
    base, _ = dev_server
    return {"photo": upload_ready(base, PHOTOS / "astronaut.png"), "video": upload_ready(base, VIDEO / "bikes.mp4")}


def pixels(png: bytes) -> numpy.ndarray:
    with Image.open(io.BytesIO(png)) as im:
        return numpy.asarray(im.convert("RGB"))


def test_the_builder_signs_a_url_that_serves_the_rest_transformation(dev_server, assets, page):
    base, _ = dev_server
    photo = assets["photo"]
    page.goto(f"{base}/assets/{photo}")
    assert page.locator("#picture").evaluate("img => img.complete && img.naturalWidth") > 0
    assert page.locator("svg.overlay rect.face").count() >= 1  # the astronaut's face, drawn
    assert page.locator("svg.overlay circle.focus").count() == 1
    assert_accessible(page)
    assert_looks_like(page, "asset-image")

    page.get_by_label("Width", exact=True).fill("200")
    page.get_by_label("Height", exact=True).fill("150")
    page.get_by_label("Crop mode", exact=True).select_option("fill")
    page.get_by_label("Gravity", exact=True).select_option("north")
    page.get_by_label("Format", exact=True).select_option("png")
    page.locator(".transform[data-ops='c_fill,f_png,g_north,h_150,w_200']").wait_for()
    url = page.get_by_label("Signed URL").input_value()
    rest = ImageURLs(base, keys=SIGNING).url(photo, "w_200,h_150,c_fill,g_north,f_png")
    assert url == rest  # the same canonical ops, signed with the project's key
    preview = page.locator("#transform-preview")
    preview.evaluate("img => img.decode()")
    assert preview.evaluate("img => [img.naturalWidth, img.naturalHeight]") == [200, 150]
    served = page.request.get(url)
    assert served.headers["content-type"] == "image/png"
    assert numpy.array_equal(pixels(served.body()), pixels(httpx.get(rest).content))
    assert page.get_by_label("srcset").input_value().count(" 320w") == 1

    page.get_by_label("Width", exact=True).fill("0")  # a bad value: its message in place, no 5xx
    alert = page.locator("#transform-result [role=alert]")
    alert.wait_for()
    assert alert.get_attribute("data-code") == "invalid_op" and "w" in alert.inner_text()


def test_the_video_plays_its_hls_stream_and_scrubs_its_storyboard(dev_server, assets, page):
    base, _ = dev_server
    page.goto(f"{base}/assets/{assets['video']}")
    assert_accessible(page)
    assert_looks_like(page, "asset-video")
    video = page.locator("#player")
    video.evaluate("v => v.play()")
    page.wait_for_function("v => v.currentTime > 0.5 && !v.paused", arg=video.element_handle(), timeout=20_000)
    assert video.evaluate("v => v.currentSrc").startswith("blob:")  # hls.js feeds it through MediaSource

    scrubber = page.get_by_label("Storyboard")
    assert float(scrubber.get_attribute("max")) > 1
    scrubber.fill("1")
    tile = page.locator("#scrub-tile")
    assert tile.is_visible() and "storyboard" in tile.evaluate("t => t.style.backgroundImage")
    page.wait_for_function("v => Math.abs(v.currentTime - 1) < 0.6", arg=video.element_handle())
