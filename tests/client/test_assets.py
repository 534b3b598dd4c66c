"""The SDK against a real server: upload, dedupe, processing, downloads, listing, deletion."""

from __future__ import annotations

import hashlib
import io
import socket
from pathlib import Path

import pytest
import pyvips

from tests.client.conftest import PHOTOS
from vitrina.client import (
    BadRequestError,
    Client,
    ConflictError,
    NotFoundError,
    VitrinaAPIError,
    VitrinaConnectionError,
)


class CountingReader(io.RawIOBase):
    """A file object that records how much each read asked for."""

    def __init__(self, path: Path) -> None:
        self._fh = path.open("rb")
        self.reads: list[int] = []
        self.name = str(path)

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        data = self._fh.read(size)
        self.reads.append(len(data))
        return data

    def seek(self, offset: int, whence: int = 0) -> int:
        return self._fh.seek(offset, whence)

    def tell(self) -> int:
        return self._fh.tell()


def test_upload_dedupe_wait_and_derivatives(client: Client):
    path = PHOTOS / "chelsea.png"  # 451 x 300
    data = path.read_bytes()
    first = client.upload(path)
    assert first.created is True
    a = first.asset
    assert (a.mime, a.kind, a.filename, a.size_bytes) == ("image/png", "image", "chelsea.png", len(data))
    assert a.sha256 == hashlib.sha256(data).hexdigest()
    assert a.status in ("pending", "processing", "ready")

    with path.open("rb") as fh:
        again = client.upload(fh, filename="other-name.png")
    assert again.created is False and again.asset.id == a.id

    ready = client.wait_until_ready(a.id, timeout=30)
    assert ready.status == "ready" and ready.is_ready and ready.error is None
    assert (ready.width, ready.height) == (451, 300)
    assert [s.state for s in ready.steps] == ["done"] * len(ready.steps) and ready.steps
    assert {(d.width, d.format) for d in ready.derivatives} == {(320, "webp"), (320, "jpeg")}
    loaders = {"webp": "webpload", "jpeg": "jpegload"}
    for d in ready.derivatives:
        body = client.download_derivative(d)
        assert len(body) == d.size_bytes
        img = pyvips.Image.new_from_buffer(body, "")
        assert (img.width, img.height) == (d.width, d.height)
        assert abs(d.height - 300 * 320 / 451) <= 1  # aspect ratio kept
        assert img.get("vips-loader").startswith(loaders[d.format])
    assert ready.derivative(320, "webp").mime == "image/webp"
    with pytest.raises(KeyError, match="320.webp"):
        ready.derivative(9999, "avif")
    assert len(ready.signals["phash"].value["hash"]) == 16 and ready.signals["phash"].producer


def test_upload_streams_the_file_in_chunks(client: Client):
    path = PHOTOS / "astronaut.png"
    size = path.stat().st_size
    reader = CountingReader(path)
    result = client.upload(reader, idempotency_key="batch-7")  # type: ignore[arg-type]
    assert result.created and result.asset.size_bytes == size
    assert result.asset.filename == "astronaut.png"
    assert sum(reader.reads) == size
    assert max(reader.reads) <= size // 4, "the file was read whole into memory"

    same = client.upload(path, idempotency_key="batch-7")
    assert same.asset.id == result.asset.id and not same.created
    with pytest.raises(ConflictError) as err:
        client.upload(PHOTOS / "coffee.png", idempotency_key="batch-7")
    assert err.value.status == 409 and err.value.code == "idempotency_key_reused"


def test_download_original_whole_ranges_and_destinations(client: Client, tmp_path: Path):
    data = (PHOTOS / "rocket.jpg").read_bytes()
    asset_id = client.upload(PHOTOS / "rocket.jpg").asset.id
    assert client.download_original(asset_id) == data
    assert client.download_original(asset_id, start=100, end=1100) == data[100:1100]
    assert client.download_original(asset_id, start=len(data) - 50) == data[-50:]
    assert client.download_original(asset_id, end=10) == data[:10]

    dest = tmp_path / "out" / "rocket.jpg"
    dest.parent.mkdir()
    assert client.download_original(asset_id, dest) is None
    assert dest.read_bytes() == data
    assert [p.name for p in dest.parent.iterdir()] == ["rocket.jpg"]  # no temporary left behind
    buf = io.BytesIO()
    client.download_original(asset_id, buf, start=7, end=8)
    assert buf.getvalue() == data[7:8]

    with pytest.raises(VitrinaAPIError) as err:
        client.download_original(asset_id, start=len(data))
    assert (err.value.status, err.value.code) == (416, "range_not_satisfiable")
    assert err.value.details["size"] == len(data)
    with pytest.raises(ValueError):
        client.download_original(asset_id, start=10, end=10)


def test_list_and_iterate_across_pages(client: Client):
    names = ("astronaut.png", "coffee.png", "rocket.jpg", "hubble_deep_field.jpg", "text.png")
    ids = [client.upload(PHOTOS / n).asset.id for n in names]
    newest_first = ids[::-1]

    page1 = client.list(limit=2)
    assert [a.id for a in page1.items] == newest_first[:2] and page1.next_cursor
    page2 = client.list(limit=2, cursor=page1.next_cursor)
    assert [a.id for a in page2.items] == newest_first[2:4] and page2.next_cursor
    page3 = client.list(limit=2, cursor=page2.next_cursor)
    assert [a.id for a in page3.items] == newest_first[4:] and page3.next_cursor is None

    assert [a.id for a in client.iter_assets(limit=2)] == newest_first
    jpegs = [a.id for a in client.iter_assets(mime="image/jpeg", limit=1)]
    assert jpegs == [ids[3], ids[2]]
    assert all(a.kind == "image" for a in client.iter_assets(kind="image"))
    assert list(client.iter_assets(kind="video")) == []

    with pytest.raises(BadRequestError) as err:
        client.list(cursor="not-one-of-ours")
    assert err.value.code == "invalid_cursor"
    with pytest.raises(BadRequestError) as err:
        client.list(status="done")
    assert err.value.code == "invalid_input" and err.value.details["problems"]


def test_delete_then_get_is_not_found(client: Client):
    asset_id = client.upload(PHOTOS / "camera.png").asset.id
    client.delete(asset_id)
    with pytest.raises(VitrinaAPIError) as err:
        client.get(asset_id)
    assert isinstance(err.value, NotFoundError)
    assert (err.value.status, err.value.code) == (404, "not_found") and asset_id in err.value.message
    with pytest.raises(NotFoundError):
        client.delete(asset_id)
    # an id that tries to climb out of its path segment is just an unknown asset
    with pytest.raises(NotFoundError):
        client.get("../../healthz")


def test_text_upload_is_refused_and_changes_nothing(client: Client, tmp_path: Path):
    notes = tmp_path / "notes.jpg"
    notes.write_text("just some text, not an image\n" * 20)
    with pytest.raises(VitrinaAPIError) as err:
        client.upload(notes)
    assert (err.value.status, err.value.code) == (415, "unsupported_media_type")
    assert err.value.message and str(err.value).startswith("415 unsupported_media_type: ")
    assert client.list().items == ()


def test_health(client: Client):
    health = client.health()
    assert health.ok and health.checks == {"catalog": "ok", "blobs": "ok"}


def test_unreachable_server_says_what_to_check():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with Client(f"http://127.0.0.1:{port}", timeout=2) as c, pytest.raises(VitrinaConnectionError) as err:
        c.get("0123456789abcdef0123456789abcdef")
    message = str(err.value)
    assert f"http://127.0.0.1:{port}" in message and "check base_url" in message
    assert "server is running" in message
