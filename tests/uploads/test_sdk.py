"""The SDK's resumable uploads against a real server: chunks, progress, a dropped
connection resumed from the server's offset, refusals."""

from __future__ import annotations

import hashlib

import httpx
import pytest

from tests.conftest import PHOTOS
from vitrina.client import Client, VitrinaAPIError

PHOTO = PHOTOS / "chelsea.png"
CHUNK = 32 * 1024


class DropsOnce(httpx.BaseTransport):
    """Loses the connection on the ``n``-th PATCH (after the server stored it or not)."""

    def __init__(self, n: int, after_sending: bool) -> None:
        self.inner, self.n, self.after_sending = httpx.HTTPTransport(), n, after_sending
        self.patches = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "PATCH":
            self.patches += 1
            if self.patches == self.n:
                if self.after_sending:
                    self.inner.handle_request(request).close()  # stored, but the answer is lost
                raise httpx.ReadError("connection reset by peer")
        return self.inner.handle_request(request)


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_large_files_go_in_checked_chunks_with_progress(server):
    seen: list[tuple[int, int]] = []
    with Client(server.url) as c:
        result = c.upload(PHOTO, resumable_threshold=0, chunk_size=CHUNK, progress=lambda *a: seen.append(a))
        assert result.created and result.asset.filename == PHOTO.name
        assert _sha(c.download_original(result.asset.id)) == _sha(PHOTO.read_bytes())
        again = c.upload(PHOTO, resumable_threshold=0, chunk_size=CHUNK)
        assert not again.created and again.asset.id == result.asset.id
    size = PHOTO.stat().st_size
    assert [sent for sent, _ in seen] == [min(size, i * CHUNK) for i in range(1, -(-size // CHUNK) + 1)]
    assert {total for _, total in seen} == {size}


@pytest.mark.parametrize("after_sending", [False, True])
def test_a_dropped_connection_resumes_from_the_servers_offset(server, after_sending):
    transport = DropsOnce(3, after_sending)
    with Client(server.url, transport=transport) as c:
        result = c.upload(PHOTO, resumable_threshold=0, chunk_size=CHUNK)
        assert _sha(c.download_original(result.asset.id)) == _sha(PHOTO.read_bytes())
    chunks = -(-PHOTO.stat().st_size // CHUNK)
    # a chunk the server never got is sent again; one it stored is not (HEAD says so)
    assert transport.patches == chunks + (0 if after_sending else 1)
    assert list(server.runtime.store.keys("uploads/")) == []


def test_small_files_stay_multipart_and_report_progress_once(server):
    seen: list[tuple[int, int]] = []
    with Client(server.url) as c:
        result = c.upload(PHOTOS / "coffee.png", progress=lambda *a: seen.append(a))
    size = (PHOTOS / "coffee.png").stat().st_size
    assert result.created and seen == [(size, size)]


def test_a_refused_file_raises_the_ingest_error(server, tmp_path):
    text = tmp_path / "notes.jpg"
    text.write_bytes(b"plain text, not a photo\n" * 4000)
    with Client(server.url) as c:
        with pytest.raises(VitrinaAPIError) as refused:
            c.upload(text, resumable_threshold=0, chunk_size=CHUNK)
        assert refused.value.status == 415
        assert not c.list().items
    assert list(server.runtime.store.keys("uploads/")) == []
