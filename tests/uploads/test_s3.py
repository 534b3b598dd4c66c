"""Resumable uploads over an S3 blob store: chunks are objects, a new app resumes."""

from __future__ import annotations

import base64
import hashlib

import boto3
from fastapi.testclient import TestClient

from tests.conftest import PHOTOS, make_settings
from vitrina.api.app import create_app
from vitrina.runtime import Runtime
from vitrina.storage.catalog.db import upgrade

TUS = {"Tus-Resumable": "1.0.0", "Content-Type": "application/offset+octet-stream"}


def test_chunks_live_in_the_bucket_and_a_new_app_resumes(tmp_path, database_url, s3_endpoint, monkeypatch):
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(name, value)
    bucket = f"vitrina-tus-{tmp_path.name[-8:].lower().replace('_', '-')}"
    boto3.client("s3", endpoint_url=s3_endpoint).create_bucket(Bucket=bucket)
    settings = make_settings(tmp_path, database_url,
                             blob_url=f"s3://{bucket}/media?endpoint_url={s3_endpoint}&region=us-east-1")
    upgrade(Runtime(settings).engine)
    data = (PHOTOS / "chelsea.png").read_bytes()
    half = len(data) // 2
    with TestClient(create_app(settings, start_workers=False)) as c:
        assert c.app.state.runtime.store.name == "s3"
        url = c.post("/v1/uploads", headers={"Tus-Resumable": "1.0.0", "Upload-Length": str(len(data)),
                                             "Upload-Metadata": "filename " + base64.b64encode(b"c.png").decode()}
                     ).headers["Location"]
        assert c.patch(url, content=data[:half], headers={**TUS, "Upload-Offset": "0"}).status_code == 204
        assert len(list(c.app.state.runtime.store.keys("uploads/"))) == 1
    with TestClient(create_app(settings, start_workers=False)) as c:
        assert c.head(url, headers=TUS).headers["Upload-Offset"] == str(half)
        done = c.patch(url, content=data[half:], headers={**TUS, "Upload-Offset": str(half)})
        assert done.status_code == 204
        original = c.get(f"/v1/assets/{done.headers['Vitrina-Asset-Id']}/original").content
        assert hashlib.sha256(original).hexdigest() == hashlib.sha256(data).hexdigest()
        assert list(c.app.state.runtime.store.keys("uploads/")) == []
