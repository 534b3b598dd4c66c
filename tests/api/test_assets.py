"""The asset API end to end on a real photo, on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import threading
from datetime import datetime, timedelta

import pyvips

from tests.conftest import PHOTOS, process_all


def upload(client, name="astronaut.png", data=None, **kw):
    data = data if data is not None else (PHOTOS / name).read_bytes()
    return client.post("/v1/assets", files={"file": (name, data)}, **kw)


def test_upload_then_ready_with_derivatives_and_signals(client):
    r = upload(client)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["status"] == "pending" and body["mime"] == "image/png" and body["kind"] == "image"
    assert (body["width"], body["height"]) == (512, 512)  # probed while validating the upload
    assert r.headers["location"] == f"/v1/assets/{body['id']}"
    assert body["sha256"] == hashlib.sha256((PHOTOS / "astronaut.png").read_bytes()).hexdigest()

    assert process_all(client.runtime) == 2  # derivatives, signals (ingest recorded the probe)
    asset = client.get(f"/v1/assets/{body['id']}").json()
    assert asset["status"] == "ready", asset
    assert (asset["width"], asset["height"]) == (512, 512)
    assert asset["metadata"]["format"] == "png"
    # timestamps carry their zone on both catalogs (SQLite keeps none itself)
    assert datetime.fromisoformat(asset["created_at"]).utcoffset() == timedelta(0)
    assert {(d["width"], d["format"]) for d in asset["derivatives"]} == {(320, "webp"), (320, "jpeg")}
    assert {d["path"] for d in asset["derivatives"]} == {"w320.webp", "w320.jpeg"}
    for d in asset["derivatives"]:
        got = client.get(d["url"])
        assert got.status_code == 200 and got.headers["content-type"] == d["mime"]
        img = pyvips.Image.new_from_buffer(got.content, "")
        assert (img.width, img.height) == (d["width"], d["height"]) == (320, 320)
    sig = asset["signals"]
    assert len(sig["blurhash"]["hash"]) >= 6 and sig["blurhash"]["producer"] == "blurhash"
    assert len(sig["phash"]["hash"]) == 16 and sig["phash"]["version"]
    assert 1 <= len(sig["colors"]["colors"]) <= 5
    assert sig["quality"]["sharpness"] > 0
    assert [s["state"] for s in asset["steps"]] == ["done"] * 3


def test_same_bytes_give_the_same_asset(client):
    first = upload(client)
    again = upload(client, data=(PHOTOS / "astronaut.png").read_bytes())
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]


def test_concurrent_identical_uploads_make_one_asset(client):
    data = (PHOTOS / "coffee.png").read_bytes()
    results: list = []

    def go() -> None:
        results.append(upload(client, "coffee.png", data))

    threads = [threading.Thread(target=go) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(r.status_code for r in results).count(201) == 1, [r.text for r in results]
    assert len({r.json()["id"] for r in results}) == 1
    assert len(client.get("/v1/assets").json()["items"]) == 1


def test_idempotency_key(client):
    a = upload(client, headers={"Idempotency-Key": "order-42"})
    b = upload(client, headers={"Idempotency-Key": "order-42"})
    assert a.json()["id"] == b.json()["id"] and b.status_code == 200
    clash = upload(client, "coffee.png", headers={"Idempotency-Key": "order-42"})
    assert clash.status_code == 409 and clash.json()["error"]["code"] == "idempotency_key_reused"


def test_list_filters_and_cursor_pagination(client):
    ids = [upload(client, n).json()["id"] for n in ("astronaut.png", "coffee.png", "rocket.jpg")]
    page1 = client.get("/v1/assets", params={"limit": 2}).json()
    assert [a["id"] for a in page1["items"]] == ids[::-1][:2]
    page2 = client.get("/v1/assets", params={"limit": 2, "cursor": page1["next_cursor"]}).json()
    assert [a["id"] for a in page2["items"]] == [ids[0]] and page2["next_cursor"] is None
    jpegs = client.get("/v1/assets", params={"mime": "image/jpeg"}).json()["items"]
    assert [a["id"] for a in jpegs] == [ids[2]]
    assert client.get("/v1/assets", params={"status": "ready"}).json()["items"] == []
    bad = client.get("/v1/assets", params={"cursor": "nope"})
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_cursor"


def test_original_download_with_ranges(client):
    data = (PHOTOS / "rocket.jpg").read_bytes()
    url = upload(client, "rocket.jpg").json()["original_url"]
    whole = client.get(url)
    assert whole.status_code == 200 and whole.content == data
    assert whole.headers["accept-ranges"] == "bytes"
    part = client.get(url, headers={"Range": "bytes=100-199"})
    assert part.status_code == 206 and part.content == data[100:200]
    assert part.headers["content-range"] == f"bytes 100-199/{len(data)}"
    tail = client.get(url, headers={"Range": "bytes=-10"})
    assert tail.content == data[-10:]
    beyond = client.get(url, headers={"Range": f"bytes={len(data)}-"})
    assert beyond.status_code == 416 and beyond.json()["error"]["code"] == "range_not_satisfiable"
    assert beyond.headers["content-range"] == f"bytes */{len(data)}"
    cached = client.get(url, headers={"If-None-Match": whole.headers["etag"]})
    assert cached.status_code == 304


def test_delete_removes_rows_and_files(client):
    body = upload(client).json()
    process_all(client.runtime)
    store = client.runtime.store
    assert list(store.keys("derivatives/"))
    assert client.get(f"/img/_/w_100,f_webp/{body['id']}").status_code == 200
    assert list(store.keys("cache/img/"))  # the result was cached in the blob store
    assert client.delete(f"/v1/assets/{body['id']}").status_code == 204
    assert client.get(f"/v1/assets/{body['id']}").status_code == 404
    assert list(store.keys("")) == []
    # and it can come back as a new asset
    assert upload(client).status_code == 201


def test_unknown_asset_and_traversal_ids_are_404(client):
    for path in ("/v1/assets/0123456789abcdef0123456789abcdef", "/v1/assets/..%2F..%2Fetc%2Fpasswd",
                 "/v1/assets/../../etc/passwd"):
        r = client.get(path)
        assert r.status_code == 404 and r.json()["error"]["code"] == "not_found", path


def test_health_ready_metrics_openapi(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["checks"] == {"catalog": "ok", "blobs": "ok"}
    upload(client)
    metrics = client.get("/metrics").text
    assert 'vitrina_http_requests_total{method="POST",route="/v1/assets",status="201"} 1.0' in metrics
    assert 'vitrina_step_runs{state="pending"} 1.0' in metrics
    spec = client.get("/openapi.json").json()
    assert {"/v1/assets", "/v1/assets/{asset_id}", "/v1/assets/{asset_id}/original"} <= set(spec["paths"])
