"""The asset service on both catalogs: typed errors, listing limits, downloads, and a
delete that leaves no row and no file behind."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from tests.conftest import PHOTOS, process_all
from vitrina.assets.records import MAX_PAGE
from vitrina.assets.repository import AssetRepository
from vitrina.assets.service import AssetService
from vitrina.assets.states import AssetStatus
from vitrina.assets.views import asset_json, timestamp
from vitrina.delivery.cache import results_prefix
from vitrina.errors import InvalidInput, NotFound
from vitrina.ids import new_id
from vitrina.pipeline.ingest import Ingestor
from vitrina.storage.catalog.projects import DEFAULT_PROJECT as P

MALFORMED = ["nope", "../../etc/passwd", "0123456789ABCDEF0123456789ABCDEF", "a" * 33, "", "x" * 500]


def ingest(rt, name: str = "astronaut.png") -> str:
    return Ingestor(rt).ingest_file(PHOTOS / name).asset_id


@pytest.fixture
def assets(runtime) -> AssetService:
    return AssetService(AssetRepository(runtime.sessions), runtime.store)


def test_the_runtime_builds_one_service(runtime):
    assert isinstance(runtime.assets, AssetService) and runtime.assets is runtime.assets


@pytest.mark.parametrize("asset_id", [*MALFORMED, "missing"])
def test_malformed_ids_are_not_found_like_missing_ones(assets, asset_id):
    asset_id = new_id() if asset_id == "missing" else asset_id
    calls = [lambda i: assets.get(P, i), lambda i: assets.delete(P, i), lambda i: assets.original(P, i),
             lambda i: assets.derivative(P, i, "320.webp")]
    for call in calls:
        with pytest.raises(NotFound) as err:
            call(asset_id)
        assert err.value.code == "not_found" and err.value.status == 404
        assert err.value.message == f"no asset {asset_id[:64]!r}"
        assert err.value.details == {"id": asset_id[:64]}


def test_list_pages_and_refuses_bad_limits(runtime, assets):
    ids = [ingest(runtime, n) for n in ("astronaut.png", "rocket.jpg")]
    page = assets.list(P, limit=1)
    assert [a.id for a in page.items] == [ids[1]]
    rest = assets.list(P, limit=1, cursor=page.next_cursor)
    assert [a.id for a in rest.items] == [ids[0]] and rest.next_cursor is None
    assert [a.id for a in assets.list(P, status=AssetStatus.PENDING, mime="image/png").items] == [ids[0]]
    assert len(assets.list(P, limit=MAX_PAGE).items) == 2
    for limit in (0, -1, MAX_PAGE + 1):
        with pytest.raises(InvalidInput):
            assets.list(P, limit=limit)
    with pytest.raises(InvalidInput) as err:
        assets.list(P, cursor="not-a-cursor")
    assert err.value.code == "invalid_cursor"


def test_downloads_name_their_bytes(runtime, assets):
    asset_id = ingest(runtime, "rocket.jpg")
    process_all(runtime)
    data = (PHOTOS / "rocket.jpg").read_bytes()
    a = assets.get(P, asset_id)
    original = assets.original(P, asset_id)
    assert (original.size_bytes, original.mime, original.etag) == (len(data), "image/jpeg", a.sha256)
    assert b"".join(assets.open(original)) == data
    assert b"".join(assets.open(original, 100, 200)) == data[100:200]
    d = a.derivatives[0]
    got = assets.derivative(P, asset_id, d.name)
    assert (got.blob_key, got.size_bytes, got.mime) == (d.blob_key, d.size_bytes, d.mime)
    assert got.etag == f"{a.sha256[:32]}-{d.width}-{d.format}-{d.version}"
    assert len(b"".join(assets.open(got))) == d.size_bytes
    with pytest.raises(NotFound) as err:
        assets.derivative(P, asset_id, "99999.webp")
    assert err.value.details == {"available": [x.name for x in a.derivatives]}


def test_delete_removes_rows_derivatives_original_and_cached_results(runtime, assets):
    asset_id = ingest(runtime)
    kept = ingest(runtime, "coffee.png")
    process_all(runtime)
    store = runtime.store
    a = assets.get(P, asset_id)
    cached = f"{results_prefix(a.sha256)}0123456789abcdef0123456789abcdef.webp"
    store.put_bytes(cached, b"a rendered image")  # as /img leaves its results
    mine = {a.blob_key, cached, *(d.blob_key for d in a.derivatives)}
    before = set(store.keys(""))
    assert mine <= before

    gone = assets.delete(P, asset_id)
    assert gone.id == asset_id and gone.sha256 == a.sha256
    assert set(store.keys("")) == before - mine  # every file of it, nothing else
    with pytest.raises(NotFound):
        assets.get(P, asset_id)
    with pytest.raises(NotFound):
        assets.delete(P, asset_id)
    assert [x.id for x in assets.list(P).items] == [kept]
    # the same bytes can come back as a new asset
    assert Ingestor(runtime).ingest_file(PHOTOS / "astronaut.png").created


def test_the_json_shape_is_the_apis(client):
    with (PHOTOS / "astronaut.png").open("rb") as f:
        asset_id = client.post("/v1/assets", files={"file": ("astronaut.png", f)}).json()["id"]
    process_all(client.runtime)
    record = client.runtime.assets.get(P, asset_id)
    served = client.get(f"/v1/assets/{asset_id}").json()
    assert asset_json(record, "http://testserver") == served
    assert "gps" not in served["metadata"] and served["status"] == "ready"


def test_timestamps_are_written_as_the_api_writes_them():
    assert timestamp(datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)) == "2026-01-02T03:04:05Z"
    assert timestamp(datetime(2026, 1, 2, 3, 4, 5, 60, tzinfo=UTC)) == "2026-01-02T03:04:05.000060Z"
    two = timezone(timedelta(hours=2))
    assert timestamp(datetime(2026, 1, 2, 3, 4, 5, tzinfo=two)) == "2026-01-02T03:04:05+02:00"
