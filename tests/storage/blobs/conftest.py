"""Fixtures for the blob store tests: real photos, a loopback S3 server, both stores."""

from __future__ import annotations

import hashlib
import uuid
from pathlib import Path

import pytest

from vitrina.storage.blobs import BlobStore
from vitrina.storage.blobs.local import LocalBlobStore
from vitrina.testing import make_registries

REPO = Path(__file__).resolve().parents[3]
PHOTOS = REPO / "data" / "photos"
BUCKET = "vitrina-test-blobs"
CREDENTIALS = {
    "aws_access_key_id": "testing",
    "aws_secret_access_key": "testing",
    "region_name": "us-east-1",
}
MiB = 1 << 20


@pytest.fixture(scope="session")
def photo() -> Path:
    path = PHOTOS / "astronaut.png"
    assert path.is_file(), f"test photo missing: {path}"
    return path


@pytest.fixture(scope="session")
def photo_sha256(photo: Path) -> str:
    return hashlib.sha256(photo.read_bytes()).hexdigest()


@pytest.fixture(scope="session")
def big_blob(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """About 11 MiB made of the real photos end to end (big enough for 3 multipart parts)."""
    photos = [p.read_bytes() for p in sorted(PHOTOS.iterdir()) if p.is_file()]
    out = bytearray()
    while len(out) < 11 * MiB:
        for data in photos:
            out += data
    path = tmp_path_factory.mktemp("big") / "big.bin"
    path.write_bytes(bytes(out[: 11 * MiB + 12345]))
    return path


@pytest.fixture(scope="session")
def s3_client(s3_endpoint: str):
    import boto3
    from botocore.config import Config

    client = boto3.client(
        "s3",
        endpoint_url=s3_endpoint,
        config=Config(s3={"addressing_style": "path"}),
        **CREDENTIALS,
    )
    client.create_bucket(Bucket=BUCKET)
    return client


@pytest.fixture
def bucket_keys(s3_client):
    """Every key in the test bucket, to check that nothing was written anywhere."""

    def list_all() -> set[str]:
        pages = s3_client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET)
        return {item["Key"] for page in pages for item in page.get("Contents", ())}

    return list_all


@pytest.fixture
def make_s3_store(s3_client, tmp_path: Path):
    """S3 stores under a fresh prefix per test, so tests sharing the bucket stay apart."""
    from vitrina.storage.blobs.s3 import S3BlobStore

    def make(**kwargs) -> S3BlobStore:
        options = {"multipart_threshold": 5 * MiB, "multipart_chunksize": 5 * MiB}
        options.update(kwargs)
        options.setdefault("client", s3_client)
        options.setdefault("temp_dir", tmp_path)
        return S3BlobStore(options.pop("bucket", BUCKET), f"t/{uuid.uuid4().hex}", **options)

    return make


def _local(request: pytest.FixtureRequest, tmp_path: Path) -> BlobStore:
    return LocalBlobStore(tmp_path / "blobs")


def _s3(request: pytest.FixtureRequest, tmp_path: Path) -> BlobStore:
    return request.getfixturevalue("make_s3_store")()


#: how the contract suite opens a store of each registered kind (by URL scheme)
OPENERS = {"file": _local, "s3": _s3}
STORE_KINDS = make_registries().stores.names()


@pytest.fixture(params=STORE_KINDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> BlobStore:
    opener = OPENERS.get(request.param)
    if opener is None:
        pytest.fail(f"blob store kind {request.param!r} has no opener in tests/storage/blobs/conftest.py")
    return opener(request, tmp_path)


@pytest.fixture(scope="session")
def s3_bucket() -> str:
    return BUCKET
