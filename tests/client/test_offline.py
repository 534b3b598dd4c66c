"""Client behaviour that a healthy server rarely shows, through httpx.MockTransport."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from vitrina.client import (
    Asset,
    AssetFailedError,
    Client,
    IntegrityError,
    NotFoundError,
    ProtocolError,
    RateLimitedError,
    ServerError,
    WaitTimeoutError,
)

BASE = "http://vitrina.test:8000/media"
ID = "0123456789abcdef0123456789abcdef"
DATA = bytes(range(256)) * 40


def asset_json(status: str = "processing", **extra: Any) -> dict[str, Any]:
    body = {
        "id": ID, "status": status, "kind": "image", "mime": "image/png", "filename": "a.png",
        "size_bytes": len(DATA), "sha256": hashlib.sha256(DATA).hexdigest(), "width": 10, "height": 5,
        "error": None, "metadata": {"format": "png"},
        "derivatives": [{"width": 320, "height": 160, "format": "webp", "mime": "image/webp",
                         "size_bytes": 3, "url": f"https://cdn.example/v1/assets/{ID}/derivatives/320.webp"}],
        "signals": {"phash": {"producer": "phash", "version": "1", "hash": "ab" * 8}},
        "steps": [{"step": "probe", "version": "1", "state": "done", "attempts": 1},
                  {"step": "derivatives", "version": "1", "state": "running", "attempts": 2}],
        "original_url": f"{BASE}/v1/assets/{ID}/original",
        "created_at": "2024-05-01T10:00:00Z", "updated_at": "2024-05-01T10:00:01+00:00",
        "a_field_from_a_newer_server": True,
    }
    body.update(extra)
    return body


def mock(handler: Callable[[httpx.Request], httpx.Response], **kw: Any) -> Client:
    return Client(BASE, transport=httpx.MockTransport(handler), **kw)


def test_parses_an_asset_and_sends_the_key():
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=asset_json())

    asset = mock(handler, api_key="vk_a_b").get(ID)
    assert seen[0].headers["authorization"] == "Bearer vk_a_b"
    assert seen[0].url.path == f"/media/v1/assets/{ID}"
    assert asset.created_at.utcoffset() is not None and asset.created_at.year == 2024
    assert asset.signals["phash"].value == {"hash": "ab" * 8} and asset.signals["phash"].version == "1"
    assert asset.derivatives[0].asset_id == ID and asset.derivatives[0].name == "320.webp"
    assert asset.steps[1].state == "running" and asset.steps[1].attempts == 2


def test_ids_cannot_leave_their_path_segment():
    paths: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        paths.append(request.url.raw_path.decode())
        return httpx.Response(404, json={"error": {"code": "not_found", "message": "no", "details": {}}})

    with pytest.raises(NotFoundError):
        mock(handler).get("../../admin?x=1")
    assert paths == ["/media/v1/assets/..%2F..%2Fadmin%3Fx%3D1"]


def test_derivatives_come_from_the_clients_own_server():
    hosts: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        hosts.append(f"{request.url.host} {request.url.path}")
        return httpx.Response(200, content=b"abc")

    c = mock(handler, api_key="vk_a_b")
    derivative = Asset.from_json(asset_json()).derivatives[0]
    assert c.download_derivative(derivative) == b"abc"
    assert hosts == [f"vitrina.test /media/v1/assets/{ID}/derivatives/320.webp"]  # never cdn.example


def test_wait_until_ready_raises_on_failure_with_the_reason():
    def handler(request: httpx.Request) -> httpx.Response:
        steps = [{"step": "probe", "version": "1", "state": "failed", "attempts": 5,
                  "error": "corrupt_media: bad IDAT"}]
        return httpx.Response(200, json=asset_json("failed", error="corrupt_media: bad IDAT", steps=steps))

    with pytest.raises(AssetFailedError) as err:
        mock(handler).wait_until_ready(ID, timeout=5, poll=0.01)
    assert err.value.asset.status == "failed"
    assert str(err.value) == f"asset {ID} failed to process: corrupt_media: bad IDAT"


def test_wait_until_ready_times_out_with_the_last_state():
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        return httpx.Response(200, json=asset_json("processing"))

    with pytest.raises(WaitTimeoutError) as err:
        mock(handler).wait_until_ready(ID, timeout=0.05, poll=0.01)
    assert isinstance(err.value, TimeoutError) and len(calls) >= 2
    message = str(err.value)
    assert "still 'processing'" in message and "probe=done, derivatives=running" in message
    assert "workers" in message


def test_error_answers_that_are_not_ours():
    def proxy(request: httpx.Request) -> httpx.Response:
        return httpx.Response(502, html="<html><body>Bad Gateway</body></html>")

    with pytest.raises(ServerError) as err:
        mock(proxy).get(ID)
    assert (err.value.status, err.value.code) == (502, "http_error") and "Bad Gateway" in err.value.message

    def busy(request: httpx.Request) -> httpx.Response:
        error = {"code": "too_many_requests", "message": "slow down", "details": {}}
        return httpx.Response(429, headers={"Retry-After": "3"}, json={"error": error})

    with pytest.raises(RateLimitedError) as err:
        mock(busy).list()
    assert err.value.retry_after == 3.0 and err.value.code == "too_many_requests"

    def garbage(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, text="<html>welcome to nginx</html>")

    with pytest.raises(ProtocolError, match="compatible version"):
        mock(garbage).get(ID)


def test_corrupt_download_is_detected_and_leaves_no_file(tmp_path: Path):
    def handler(request: httpx.Request) -> httpx.Response:
        etag = '"' + hashlib.sha256(DATA).hexdigest() + '"'
        return httpx.Response(200, content=DATA[:-1] + b"\x00", headers={"ETag": etag})

    dest = tmp_path / "a.png"
    with pytest.raises(IntegrityError):
        mock(handler).download_original(ID, dest)
    assert list(tmp_path.iterdir()) == []


def test_a_server_that_ignores_range_still_gives_the_window():
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.headers["range"] == "bytes=1000-2999"
        chunks = (DATA[i:i + 700] for i in range(0, len(DATA), 700))  # windows cut across chunks
        return httpx.Response(200, content=chunks)

    assert mock(handler).download_original(ID, start=1000, end=3000) == DATA[1000:3000]


def test_a_range_answer_from_the_wrong_offset_is_refused():
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(206, content=DATA[:10], headers={"Content-Range": f"bytes 0-9/{len(DATA)}"})

    with pytest.raises(IntegrityError):
        mock(handler).download_original(ID, start=5, end=15)


def test_base_url_must_be_http():
    with pytest.raises(ValueError, match="http"):
        Client("127.0.0.1:8000")
