"""tus 1.0 against a real client (tuspy) and a real server: chunks, a cut and a resume,
checksums, expiry, termination, projects, and a restart in the middle of an upload."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest
import requests
from sqlalchemy import update
from tusclient import client as tus
from tusclient.exceptions import TusUploadFailed
from tusclient.uploader import Uploader

from tests.conftest import PHOTOS
from tests.uploads.conftest import SIGNING_KEYS
from vitrina.access.keys import create_key
from vitrina.storage.catalog.db import transaction
from vitrina.storage.catalog.uploads import UploadRow

PHOTO = PHOTOS / "rocket.jpg"
CHUNK = 16 * 1024
TUS = {"Tus-Resumable": "1.0.0"}


def _uploader(server, *, url=None, headers=None, cls=Uploader, **kwargs) -> Uploader:
    client = tus.TusClient(server.uploads, headers=headers or {})
    return cls(file_path=str(PHOTO), client=client, url=url, chunk_size=CHUNK,
               metadata={"filename": PHOTO.name}, upload_checksum=True, **kwargs)


def _original(server, asset_id: str, headers=None) -> bytes:
    r = requests.get(f"{server.url}/v1/assets/{asset_id}/original", headers=headers or {}, timeout=10)
    assert r.status_code == 200, r.text
    return r.content


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _head(url: str, headers=None) -> requests.Response:
    return requests.head(url, headers={**TUS, **(headers or {})}, timeout=10)


def test_a_photo_in_small_chunks_cut_and_resumed_is_byte_identical(server):
    size = PHOTO.stat().st_size
    first = _uploader(server)
    first.upload(stop_at=3 * CHUNK)  # the client stops after three chunks
    assert first.offset == 3 * CHUNK < size
    head = _head(first.url)
    assert head.status_code == 200 and head.headers["Upload-Offset"] == str(3 * CHUNK)
    assert head.headers["Upload-Length"] == str(size) and head.headers["Tus-Resumable"] == "1.0.0"
    assert "Upload-Expires" in head.headers and head.headers["Cache-Control"] == "no-store"

    resumed = _uploader(server, url=first.url)  # asks HEAD for the offset
    assert resumed.offset == 3 * CHUNK
    resumed.upload()
    answer = resumed.request.response_headers
    asset_id = answer["vitrina-asset-id"]
    assert answer["vitrina-asset-location"] == f"/v1/assets/{asset_id}"
    assert _sha(_original(server, asset_id)) == _sha(PHOTO.read_bytes())
    asset = requests.get(f"{server.url}/v1/assets/{asset_id}", timeout=10).json()
    assert asset["filename"] == PHOTO.name and asset["kind"] == "image"
    # the upload is gone once it became an asset, and so are its chunks
    assert _head(first.url).status_code == 404
    assert list(server.runtime.store.keys("uploads/")) == []


def test_options_names_version_extensions_and_limit(server):
    r = requests.options(server.uploads, timeout=10)
    assert r.status_code == 204
    assert r.headers["Tus-Version"] == "1.0.0"
    assert set(r.headers["Tus-Extension"].split(",")) >= {
        "creation", "creation-with-upload", "termination", "expiration", "checksum"}
    assert r.headers["Tus-Max-Size"] == str(server.runtime.settings.ingest.max_upload_bytes)
    assert "sha1" in r.headers["Tus-Checksum-Algorithm"].split(",")


class WrongChecksum(Uploader):
    """Sends a sha1 that is not the chunk's."""

    CHECKSUM_ALGORITHM_PAIR = ("sha1", lambda chunk: hashlib.sha1(b"not " + chunk))


def test_a_checksum_mismatch_is_460_and_the_chunk_is_discarded(server):
    good = _uploader(server)
    good.upload(stop_at=CHUNK)
    bad = _uploader(server, url=good.url, cls=WrongChecksum)
    with pytest.raises(TusUploadFailed) as refused:
        bad.upload_chunk()
    assert refused.value.status_code == 460
    assert _head(good.url).headers["Upload-Offset"] == str(CHUNK)
    assert len(list(server.runtime.store.keys(f"uploads/{good.url.rsplit('/', 1)[1]}/"))) == 1
    resumed = _uploader(server, url=good.url)
    resumed.upload()
    assert _sha(_original(server, resumed.request.response_headers["vitrina-asset-id"])) == _sha(PHOTO.read_bytes())


def test_an_expired_upload_answers_410_and_is_swept(server):
    up = _uploader(server)
    up.upload(stop_at=CHUNK)
    upload_id = up.url.rsplit("/", 1)[1]
    with transaction(server.runtime.sessions) as s:
        s.execute(update(UploadRow).where(UploadRow.id == upload_id)
                  .values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))
    assert _head(up.url).status_code == 410
    patch = requests.patch(up.url, data=b"x", timeout=10, headers={
        **TUS, "Upload-Offset": str(CHUNK), "Content-Type": "application/offset+octet-stream"})
    assert patch.status_code == 410 and patch.json()["error"]["code"] == "upload_expired"
    assert server.runtime.uploads.sweep_expired() == 1
    assert _head(up.url).status_code == 404
    assert list(server.runtime.store.keys("uploads/")) == []


def test_termination_removes_the_upload_and_its_bytes(server):
    up = _uploader(server)
    up.upload(stop_at=2 * CHUNK)
    r = requests.delete(up.url, headers=TUS, timeout=10)
    assert r.status_code == 204 and r.headers["Tus-Resumable"] == "1.0.0"
    assert _head(up.url).status_code == 404
    assert list(server.runtime.store.keys("uploads/")) == []
    assert requests.delete(up.url, headers=TUS, timeout=10).status_code == 404


def test_another_projects_upload_is_404(start):
    with start(dev=False, signing={"keys": SIGNING_KEYS}) as server:
        server.runtime.projects.create("shop")
        mine = {"X-API-Key": create_key(server.runtime.sessions, "mine", ["write", "read"])}
        theirs = {"X-API-Key": create_key(server.runtime.sessions, "theirs", ["write"], "shop")}
        up = _uploader(server, headers=mine)
        up.upload(stop_at=CHUNK)
        assert _head(up.url, mine).status_code == 200
        assert _head(up.url).status_code == 401
        assert _head(up.url, theirs).status_code == 404
        patch = requests.patch(up.url, data=PHOTO.read_bytes()[CHUNK:2 * CHUNK], timeout=10, headers={
            **TUS, **theirs, "Upload-Offset": str(CHUNK), "Content-Type": "application/offset+octet-stream"})
        assert patch.status_code == 404
        assert requests.delete(up.url, headers={**TUS, **theirs}, timeout=10).status_code == 404
        assert _head(up.url, mine).headers["Upload-Offset"] == str(CHUNK)  # untouched
        resumed = _uploader(server, url=up.url, headers=mine)
        resumed.upload()
        asset_id = resumed.request.response_headers["vitrina-asset-id"]
        assert _sha(_original(server, asset_id, mine)) == _sha(PHOTO.read_bytes())
        assert requests.get(f"{server.url}/v1/assets/{asset_id}", headers=theirs, timeout=10).status_code in (403, 404)


def test_a_new_server_over_the_same_catalog_and_store_resumes(start):
    with start() as first:
        up = _uploader(first)
        up.upload(stop_at=4 * CHUNK)
        path = up.url.split("/v1/uploads/", 1)[1]
    with start() as second:  # another process, another port: only the catalog and the store remain
        url = f"{second.uploads}/{path}"
        assert _head(url).headers["Upload-Offset"] == str(4 * CHUNK)
        resumed = _uploader(second, url=url)
        resumed.upload()
        asset_id = resumed.request.response_headers["vitrina-asset-id"]
        assert _sha(_original(second, asset_id)) == _sha(PHOTO.read_bytes())
