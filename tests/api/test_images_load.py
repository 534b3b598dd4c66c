"""The /img route under load and over time: single-flight, the 503 path of the
concurrency limiter, the result caches and their settings, the asset TTL (deleted
assets), and the dispatcher that `vitrina serve` runs."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from tests.api.test_images_setup import Library, build_library, serve
from vitrina.api.app import app_from_env, create_app
from vitrina.api.images import Dispatcher
from vitrina.delivery.configured import signer_from
from vitrina.delivery.limiter import Limiter, TooBusy

ROCKET, DOOMED = "rocket.jpg", "chelsea.png"


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> Library:
    return build_library(tmp_path_factory.mktemp("images-load"), [ROCKET, DOOMED])


async def _get_all(app: Any, urls: list[str]) -> list[httpx.Response]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://images.test") as http:
        return list(await asyncio.gather(*(http.get(u) for u in urls)))


def test_concurrent_first_requests_make_one_transformation(library: Library) -> None:
    settings = library.settings()
    app = create_app(settings, start_workers=False)
    url = signer_from(settings).url(library.ids[ROCKET], "w_333,h_222,c_fill,g_auto,f_webp")
    answers = asyncio.run(_get_all(app, [url] * 100))
    assert [r.status_code for r in answers] == [200] * 100
    assert len({r.content for r in answers}) == 1 and len({r.headers["etag"] for r in answers}) == 1
    stats = app.state.images.service.stats
    assert (stats.renders, stats.blob_hits) == (1, 0)


def test_a_flood_gets_503_with_retry_after_not_a_pile_up(library: Library) -> None:
    settings = library.settings(delivery={"cache": False, "max_concurrency": 1,
                                          "max_queue": 1})  # fmt: skip
    app = create_app(settings, start_workers=False)
    signer, asset = signer_from(settings), library.ids[ROCKET]
    asyncio.run(_get_all(app, [signer.url(asset, "w_50")]))  # the asset record is now known
    urls = [signer.url(asset, f"w_{600 + i},e_blur:2") for i in range(8)]  # all different
    answers = asyncio.run(_get_all(app, urls))
    busy = [r for r in answers if r.status_code == 503]
    served = [r for r in answers if r.status_code == 200]
    assert len(busy) + len(served) == 8 and len(busy) >= 1 and len(served) >= 2
    for r in busy:
        assert r.headers["retry-after"] == "1" and r.json()["error"]["code"] == "too_busy"
    service = app.state.images.service
    assert service.stats.too_busy == len(busy) and service.limiter.active == 0


def test_renders_past_the_threads_wait_in_the_render_pool(library: Library) -> None:
    """One render thread and room for seven more: eight different renders at once all
    finish (the thread takes each next one itself), and every place is given back."""
    settings = library.settings(delivery={"cache": False, "max_concurrency": 1,
                                          "max_queue": 7})  # fmt: skip
    app = create_app(settings, start_workers=False)
    signer, asset = signer_from(settings), library.ids[ROCKET]
    asyncio.run(_get_all(app, [signer.url(asset, "w_50")]))  # the asset record is now known
    answers = asyncio.run(_get_all(app, [signer.url(asset, f"w_{300 + i}") for i in range(8)]))
    assert [r.status_code for r in answers] == [200] * 8
    assert all(int(r.headers["content-length"]) > 0 for r in answers)
    service = app.state.images.service
    assert (service.stats.renders, service.stats.too_busy, service.limiter.active) == (9, 0, 0)
    assert service.gauges()["transformations_waiting"] == 0


def test_cache_off_does_the_work_every_time(library: Library) -> None:
    with serve(library, delivery={"cache": False}) as client:
        before = list(client.service.store.keys("cache/"))
        url = client.url(ROCKET, "w_177")
        first, second = client.get(url), client.get(url)
        assert first.status_code == second.status_code == 200
        assert first.content == second.content and first.headers["etag"] == second.headers["etag"]
        assert client.service.stats.renders == 2 and client.service.memory is None
        assert list(client.service.store.keys("cache/")) == before


def test_only_small_answers_are_kept_in_memory(library: Library) -> None:
    with serve(library, delivery={"memory_item_bytes": 4000}) as client:
        small, large = client.url(ROCKET, "w_40"), client.url(ROCKET, "w_600,q_95")
        for url in (small, large, small, large):
            assert client.get(url).status_code == 200
        stats = client.service.stats
        assert (stats.renders, stats.memory_hits, stats.blob_hits) == (2, 1, 1)


def test_a_deleted_asset_is_gone_once_its_record_expires(library: Library) -> None:
    asset = library.ids[DOOMED]
    with serve(library) as steady, serve(library, dev=True, delivery={"asset_ttl_seconds": 0}) as eager:
        url = steady.url(DOOMED, "w_120")
        assert steady.get(url).status_code == eager.get(url).status_code == 200
        assert eager.delete(f"/v1/assets/{asset}").status_code == 204
        assert eager.get(url).json()["error"]["code"] == "not_found"
        # another process trusts its record for delivery_asset_ttl_seconds (30 s here)
        assert steady.get(url).status_code == 200
        later = steady.service.clock() + 31
        steady.service.clock = lambda: later
        gone = steady.get(url)
        assert gone.status_code == 404 and gone.json()["error"]["code"] == "not_found"


def test_served_app_dispatches_images_past_fastapi(library: Library, monkeypatch) -> None:
    settings = library.settings()
    for name, value in {"DATA_DIR": str(settings.data_dir), "DATABASE_URL": settings.database_url,
                        "SIGNING__KEYS": '{"k1": "a-long-random-signing-secret-1"}',
                        "SERVER__INPROCESS_WORKERS": "0"}.items():  # fmt: skip
        monkeypatch.setenv(f"VITRINA_{name}", value)
    served = app_from_env()
    assert isinstance(served, Dispatcher) and served.state.runtime.settings.dev is False
    with TestClient(served) as client:
        assert client.get("/healthz").json() == {"status": "ok"}
        image = client.get(signer_from(settings).url(library.ids[ROCKET], "w_64"))
        assert image.status_code == 200 and image.headers["content-type"] == "image/jpeg"
        assert client.get("/img/_/w_64/" + library.ids[ROCKET]).status_code == 403
        metrics = client.get("/metrics").text
        assert "vitrina_image_transformations_total 1.0" in metrics
        assert 'vitrina_image_answers_total{source="memory"}' in metrics


def test_limiter_hands_slots_on_and_survives_cancelled_waiters() -> None:
    async def scenario() -> None:
        limiter = Limiter(1, 2)
        await limiter.acquire()
        first = asyncio.ensure_future(limiter.acquire())
        second = asyncio.ensure_future(limiter.acquire())
        await asyncio.sleep(0)
        with pytest.raises(TooBusy):
            await limiter.acquire()  # one running, two waiting: full
        first.cancel()
        await asyncio.sleep(0)
        limiter.release()  # skips the cancelled waiter, hands the slot to the second
        await second
        assert limiter.active == 1 and limiter.waiting == 0
        limiter.release()
        assert limiter.active == 0

    asyncio.run(scenario())
