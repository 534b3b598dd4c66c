"""Every kind of bad upload gets its 4xx and stable code, and changes nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from tests.conftest import HOSTILE, PHOTOS
from vitrina.storage.catalog.models import Asset, IdempotencyKey, Original, StepRun


def footprint(client) -> tuple:
    """Everything an upload could have left behind: rows, blobs and staging files."""
    rt = client.runtime
    with rt.sessions() as s:
        rows = tuple(s.scalar(select(func.count()).select_from(t)) for t in (Asset, Original, StepRun, IdempotencyKey))
    root = rt.settings.data_dir / "blobs"
    files = sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()) if root.exists() else []
    return rows, list(rt.store.keys("")), files


CASES = [
    # (what, file name, bytes, status, code)
    ("zero bytes", "empty.jpg", b"", 400, "empty_file"),
    ("text named .jpg", "notes.jpg", b"just some text, not an image\n" * 10, 415, "unsupported_media_type"),
    ("svg", "script.svg", (HOSTILE / "script.svg").read_bytes(), 415, "unsupported_media_type"),
    ("truncated jpeg", "truncated.jpg", (HOSTILE / "truncated.jpg").read_bytes(), 422, "corrupt_media"),
    ("corrupt png chunk", "corrupt.png", (HOSTILE / "corrupt_idat.png").read_bytes(), 422, "corrupt_media"),
    ("50000x50000 png bomb", "bomb.png", (HOSTILE / "bomb_50000x50000.png").read_bytes(), 422, "media_too_large"),
    ("65000x65000 jpeg bomb", "bomb.jpg", (HOSTILE / "bomb_65000x65000.jpg").read_bytes(), 422, "media_too_large"),
    ("traversal in file name", "../../etc/passwd", (PHOTOS / "coffee.png").read_bytes(), 400, "invalid_filename"),
    ("backslash traversal", "..\\..\\boot.ini", (PHOTOS / "coffee.png").read_bytes(), 400, "invalid_filename"),
]


@pytest.mark.parametrize("what,name,data,status,code", CASES, ids=[c[0] for c in CASES])
def test_bad_upload_is_refused_and_changes_nothing(client, what, name, data, status, code):
    before = footprint(client)
    r = client.post("/v1/assets", files={"file": (name, data)})
    assert r.status_code == status, r.text
    err = r.json()["error"]
    assert err["code"] == code and err["message"]
    assert "Traceback" not in r.text
    assert footprint(client) == before


def test_png_named_jpg_is_accepted_as_png(client):
    r = client.post("/v1/assets", files={"file": ("photo.jpg", (PHOTOS / "chelsea.png").read_bytes())})
    assert r.status_code == 201 and r.json()["mime"] == "image/png"


def test_over_the_byte_limit_is_refused_while_streaming(tmp_path, database_url):
    from fastapi.testclient import TestClient

    from tests.conftest import make_settings
    from vitrina.api.app import create_app
    from vitrina.runtime import Runtime
    from vitrina.storage.catalog.db import upgrade

    settings = make_settings(tmp_path, database_url, ingest={"max_upload_bytes": 100_000})
    upgrade(Runtime(settings).engine)
    app = create_app(settings, start_workers=False)
    data = (PHOTOS / "astronaut.png").read_bytes()  # 790 KB
    boundary = "vitrinaboundary"
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.png\"\r\n"
            "Content-Type: image/png\r\n\r\n").encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    sent = []

    def body():  # chunked: no Content-Length, so only the streaming cap can stop it
        yield head
        for i in range(0, len(data), 16384):
            sent.append(i)
            yield data[i:i + 16384]
        yield tail

    with TestClient(app) as client:
        client.runtime = app.state.runtime
        before = footprint(client)
        declared = client.post("/v1/assets", files={"file": ("a.png", data)})
        assert declared.status_code == 413 and declared.json()["error"]["code"] == "payload_too_large"
        streamed = client.post("/v1/assets", content=body(),
                               headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
        assert streamed.status_code == 413 and streamed.json()["error"]["code"] == "payload_too_large"
        assert footprint(client) == before
        tmp = settings.data_dir / "blobs" / ".tmp"
        assert not tmp.exists() or not any(tmp.iterdir())


def test_not_multipart_and_missing_field(client):
    r = client.post("/v1/assets", content=b"raw", headers={"Content-Type": "image/png"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "expected_multipart"
    r = client.post("/v1/assets", files={"other": ("a.png", b"x")})
    assert r.status_code == 400 and r.json()["error"]["code"] == "missing_file"


def test_bad_idempotency_key(client):
    r = client.post("/v1/assets", files={"file": ("a.png", (PHOTOS / "coffee.png").read_bytes())},
                    headers={"Idempotency-Key": "../../x y"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_idempotency_key"
