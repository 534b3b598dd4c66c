"""The production shape: S3-compatible blob storage, with each catalog, end to end."""

from __future__ import annotations

import boto3
import pytest
import pyvips
from fastapi.testclient import TestClient

from tests.conftest import PHOTOS, make_settings, process_all
from vitrina.api.app import create_app
from vitrina.runtime import Runtime
from vitrina.storage.catalog.db import upgrade


@pytest.fixture
def s3_client(tmp_path, database_url, s3_endpoint, monkeypatch):
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(name, value)
    bucket = f"vitrina-e2e-{tmp_path.name[-8:].lower().replace('_', '-')}"
    boto3.client("s3", endpoint_url=s3_endpoint).create_bucket(Bucket=bucket)
    settings = make_settings(tmp_path, database_url,
                             blob_url=f"s3://{bucket}/media?endpoint_url={s3_endpoint}&region=us-east-1")
    upgrade(Runtime(settings).engine)
    app = create_app(settings, start_workers=False)
    with TestClient(app) as client:
        client.runtime = app.state.runtime
        yield client


def test_upload_process_and_serve_from_s3(s3_client):
    client = s3_client
    assert client.runtime.store.name == "s3"
    data = (PHOTOS / "chelsea.png").read_bytes()
    asset = client.post("/v1/assets", files={"file": ("chelsea.png", data)}).json()
    assert process_all(client.runtime) == 2  # derivatives, signals (ingest recorded the probe)
    asset = client.get(f"/v1/assets/{asset['id']}").json()
    assert asset["status"] == "ready" and (asset["width"], asset["height"]) == (451, 300)
    for d in asset["derivatives"]:
        img = pyvips.Image.new_from_buffer(client.get(d["url"]).content, "")
        assert (img.width, img.height) == (d["width"], d["height"])
    part = client.get(asset["original_url"], headers={"Range": "bytes=0-7"})
    assert part.status_code == 206 and part.content == data[:8]
    keys = set(client.runtime.store.keys(""))
    assert any(k.startswith("originals/") for k in keys) and any(k.startswith("derivatives/") for k in keys)
