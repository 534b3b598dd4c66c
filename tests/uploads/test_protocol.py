"""tus 1.0 edge cases through the API: refusals, creation-with-upload, the ingest path,
limits before any byte, and the header parsers."""

from __future__ import annotations

import base64
import hashlib

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.conftest import PHOTOS, make_settings
from vitrina.access.keys import create_key
from vitrina.api.app import create_app
from vitrina.errors import InvalidInput, Unavailable
from vitrina.runtime import Runtime
from vitrina.storage.catalog.db import upgrade
from vitrina.storage.catalog.uploads import UploadRow
from vitrina.uploads import protocol
from vitrina.uploads.protocol import OffsetMismatch

PHOTO = (PHOTOS / "coffee.png").read_bytes()
TUS = {"Tus-Resumable": "1.0.0"}
CHUNK_TYPE = {"Content-Type": "application/offset+octet-stream"}


def _meta(**values: str) -> str:
    return ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in values.items())


def _create(c, length: int, **headers: str):
    return c.post("/v1/uploads", headers={**TUS, "Upload-Length": str(length),
                                          "Upload-Metadata": _meta(filename="coffee.png"), **headers})


def _patch(c, url: str, offset: int, body: bytes, **headers: str):
    return c.patch(url, content=body, headers={**TUS, **CHUNK_TYPE, "Upload-Offset": str(offset), **headers})


def _sha1(data: bytes) -> str:
    return "sha1 " + base64.b64encode(hashlib.sha1(data).digest()).decode()


def test_requests_without_tus_resumable_are_412(client):
    r = client.post("/v1/uploads", headers={"Upload-Length": "10"})
    assert r.status_code == 412 and r.headers["Tus-Version"] == "1.0.0"
    assert r.json()["error"]["code"] == "tus_version_unsupported"
    assert client.post("/v1/uploads", headers={"Tus-Resumable": "0.2.2", "Upload-Length": "10"}).status_code == 412


def test_offsets_content_type_and_length_are_checked(client):
    url = _create(client, len(PHOTO)).headers["Location"]
    r = _patch(client, url, 5, PHOTO[:10])
    assert r.status_code == 409 and r.json()["error"]["details"]["offset"] == 0
    r = client.patch(url, content=PHOTO[:10], headers={**TUS, "Upload-Offset": "0",
                                                        "Content-Type": "application/octet-stream"})
    assert r.status_code == 415 and r.headers["Tus-Resumable"] == "1.0.0"
    assert _patch(client, url, 0, PHOTO[:100]).headers["Upload-Offset"] == "100"
    past = _patch(client, url, 100, PHOTO[100:] + b"one byte too many")
    assert past.status_code == 413 and past.json()["error"]["code"] == "upload_length_exceeded"
    assert client.head(url, headers=TUS).headers["Upload-Offset"] == "100"  # nothing of it was kept
    done = _patch(client, url, 100, PHOTO[100:], **{"Upload-Checksum": _sha1(PHOTO[100:])})
    assert done.status_code == 204 and done.headers["Upload-Offset"] == str(len(PHOTO))
    asset = client.get(done.headers["Vitrina-Asset-Location"]).json()
    assert asset["sha256"] == hashlib.sha256(PHOTO).hexdigest() and asset["filename"] == "coffee.png"


def test_an_upload_over_the_limit_is_refused_at_creation(client):
    limit = client.runtime.settings.ingest.max_upload_bytes
    r = _create(client, limit + 1)
    assert r.status_code == 413 and r.json()["error"]["details"]["limit_bytes"] == limit
    assert r.headers["Tus-Resumable"] == "1.0.0"


@pytest.mark.parametrize(("header", "value", "code"), [
    ("Upload-Length", "-1", "invalid_tus_header"),
    ("Upload-Length", "ten", "invalid_tus_header"),
    ("Upload-Metadata", "filename not*base64", "invalid_upload_metadata"),
    ("Upload-Metadata", _meta(filename="../etc/passwd"), "invalid_filename"),
    ("Upload-Defer-Length", "1", "invalid_tus_header"),
])
def test_malformed_creation_headers_are_400(client, header, value, code):
    r = client.post("/v1/uploads", headers={**TUS, "Upload-Length": "10", header: value})
    assert r.status_code == 400 and r.json()["error"]["code"] == code


@pytest.mark.parametrize(("value", "code"), [
    ("crc32 AAAAAA==", "checksum_algorithm_unsupported"),
    ("sha1", "invalid_checksum"),
    ("sha1 not-base64!", "invalid_checksum"),
    ("sha1 " + base64.b64encode(b"short").decode(), "invalid_checksum"),
])
def test_malformed_checksums_are_400_and_keep_nothing(client, value, code):
    url = _create(client, len(PHOTO)).headers["Location"]
    r = _patch(client, url, 0, PHOTO[:10], **{"Upload-Checksum": value})
    assert r.status_code == 400 and r.json()["error"]["code"] == code
    assert client.head(url, headers=TUS).headers["Upload-Offset"] == "0"


def test_creation_with_upload_ingests_a_whole_file(client):
    r = client.post("/v1/uploads", content=PHOTO, headers={
        **TUS, **CHUNK_TYPE, "Upload-Length": str(len(PHOTO)), "Upload-Metadata": _meta(filename="c.png"),
        "Upload-Checksum": _sha1(PHOTO)})
    assert r.status_code == 201 and r.headers["Upload-Offset"] == str(len(PHOTO))
    assert r.headers["Vitrina-Asset-Created"] == "true"
    assert client.get(f"/v1/assets/{r.headers['Vitrina-Asset-Id']}").json()["filename"] == "c.png"
    again = client.post("/v1/uploads", content=PHOTO, headers={
        **TUS, **CHUNK_TYPE, "Upload-Length": str(len(PHOTO))})
    assert again.headers["Vitrina-Asset-Id"] == r.headers["Vitrina-Asset-Id"]  # dedupe, as for multipart
    assert again.headers["Vitrina-Asset-Created"] == "false"


def test_a_refused_first_chunk_keeps_no_upload(client):
    r = client.post("/v1/uploads", content=PHOTO[:1000], headers={
        **TUS, **CHUNK_TYPE, "Upload-Length": str(len(PHOTO)), "Upload-Checksum": _sha1(b"other bytes")})
    assert r.status_code == 460 and r.json()["error"]["code"] == "checksum_mismatch"
    assert "Location" not in r.headers
    assert list(client.runtime.store.keys("uploads/")) == []
    with client.runtime.sessions() as s:
        assert s.scalar(select(func.count()).select_from(UploadRow)) == 0  # nor a row


def test_creation_with_part_of_the_file_then_patch(client):
    r = client.post("/v1/uploads", content=PHOTO[:1000], headers={
        **TUS, **CHUNK_TYPE, "Upload-Length": str(len(PHOTO))})
    assert r.status_code == 201 and r.headers["Upload-Offset"] == "1000"
    assert "Vitrina-Asset-Id" not in r.headers
    done = _patch(client, r.headers["Location"], 1000, PHOTO[1000:])
    assert done.status_code == 204 and "Vitrina-Asset-Id" in done.headers


def test_a_refused_file_answers_the_ingest_error_and_the_upload_is_gone(client):
    text = b"this is not an image at all, only text" * 10
    url = _create(client, len(text)).headers["Location"]
    assert _patch(client, url, 0, text[:100]).status_code == 204
    r = _patch(client, url, 100, text[100:])
    assert r.status_code == 415 and r.json()["error"]["code"] == "unsupported_media_type"
    assert client.head(url, headers=TUS).status_code == 404
    assert list(client.runtime.store.keys("uploads/")) == []
    assert client.get("/v1/assets").json()["items"] == []


def test_the_idempotency_key_of_the_last_patch_is_the_ingests(client):
    first = client.post("/v1/uploads", content=PHOTO, headers={
        **TUS, **CHUNK_TYPE, "Upload-Length": str(len(PHOTO)), "Idempotency-Key": "k-1"})
    other = (PHOTOS / "camera.png").read_bytes()
    url = _create(client, len(other)).headers["Location"]
    r = _patch(client, url, 0, other, **{"Idempotency-Key": "k-1"})
    assert first.status_code == 201 and r.status_code == 409
    assert r.json()["error"]["code"] == "idempotency_key_reused"


def test_unknown_uploads_are_404(client):
    for upload_id in ("0" * 32, "not-an-id"):
        assert client.head(f"/v1/uploads/{upload_id}", headers=TUS).status_code == 404
        assert _patch(client, f"/v1/uploads/{upload_id}", 0, b"x").status_code == 404
        assert client.delete(f"/v1/uploads/{upload_id}", headers=TUS).status_code == 404


def test_two_writers_at_one_offset_end_with_one_chunk(runtime):
    uploads = runtime.uploads
    upload = uploads.create("default", len(PHOTO), {"filename": "coffee.png"})
    with uploads.chunk_writer(upload, None) as a, uploads.chunk_writer(upload, None) as b:
        a.write(PHOTO[:100])
        b.write(PHOTO[:200])
        uploads.append("default", upload.id, 0, a)
        with pytest.raises(OffsetMismatch):
            uploads.append("default", upload.id, 0, b)
    assert uploads.get("default", upload.id).offset == 100
    assert len(list(runtime.store.keys(f"uploads/{upload.id}/"))) == 1


def test_the_sweep_removes_bytes_whose_upload_is_gone(runtime):
    runtime.store.put_bytes(f"uploads/{'a' * 32}/0000000000000000-abcd", b"left by a crash")
    assert runtime.uploads.sweep_expired() == 1
    assert list(runtime.store.keys("uploads/")) == []


@pytest.fixture
def prod(tmp_path, database_url):
    settings = make_settings(tmp_path, database_url, dev=False, signing={"keys": {"k1": "a-long-random-secret-x"}},
                             ingest={"max_upload_bytes": 10_000})
    rt = Runtime(settings)
    upgrade(rt.engine)
    rt.close()
    with TestClient(create_app(settings, start_workers=False)) as c:
        c.key = {"X-API-Key": create_key(c.app.state.runtime.sessions, "w", ["write"])}
        yield c


def test_keys_and_body_caps_come_before_any_byte(prod):
    url = _create(prod, 5000, **prod.key).headers["Location"]
    huge = {"Content-Length": str(10**12)}
    # no key: 401 before the body; a key: the declared length over the cap is 413, unread;
    # both answered with the protocol version a tus client reads
    r = prod.patch(url, headers={**TUS, **CHUNK_TYPE, **huge, "Upload-Offset": "0"})
    assert r.status_code == 401 and r.headers["Tus-Resumable"] == "1.0.0"
    r = prod.patch(url, headers={**TUS, **CHUNK_TYPE, **huge, **prod.key, "Upload-Offset": "0"})
    assert r.status_code == 413 and r.json()["error"]["code"] == "payload_too_large"
    assert r.headers["Tus-Resumable"] == "1.0.0"
    assert prod.post("/v1/uploads", headers={**TUS, **CHUNK_TYPE, **huge, "Upload-Length": "5"}).status_code == 401
    assert _create(prod, 10_001, **prod.key).status_code == 413
    reader = {"X-API-Key": create_key(prod.app.state.runtime.sessions, "r", ["read"])}
    assert prod.head(url, headers={**TUS, **reader}).status_code == 403


def test_metadata_and_checksum_parsers():
    assert protocol.parse_metadata(f"{_meta(filename='a b.jpg')},empty") == {"filename": "a b.jpg", "empty": ""}
    assert protocol.format_metadata({"filename": "x"}) == _meta(filename="x")
    nul, not_utf8 = (base64.b64encode(raw).decode() for raw in (b"a\x00b", b"\xff"))
    for bad in ("k v w", "k a,k a", f"k {nul}", f"k {not_utf8}"):
        with pytest.raises(InvalidInput):
            protocol.parse_metadata(bad)
    checksum = protocol.parse_checksum(_sha1(b"abc"))
    assert checksum.algorithm == "sha1" and checksum.digest == hashlib.sha1(b"abc").digest()
    assert protocol.parse_checksum(None) is None


def test_a_server_fault_at_the_end_keeps_the_upload_and_an_empty_patch_retries(client, monkeypatch):
    ingestor = client.runtime.ingestor
    commit = ingestor.commit
    faults = iter([Unavailable("the store is away")])

    def flaky(*args, **kwargs):
        fault = next(faults, None)
        if fault is not None:
            raise fault
        return commit(*args, **kwargs)

    monkeypatch.setattr(ingestor, "commit", flaky)
    url = _create(client, len(PHOTO)).headers["Location"]
    assert _patch(client, url, 0, PHOTO).status_code == 503
    assert client.head(url, headers=TUS).headers["Upload-Offset"] == str(len(PHOTO))  # nothing lost
    done = _patch(client, url, len(PHOTO), b"")
    assert done.status_code == 204 and done.headers["Vitrina-Asset-Created"] == "true"
    assert client.head(url, headers=TUS).status_code == 404
