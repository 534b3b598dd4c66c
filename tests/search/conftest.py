"""Fixtures for the vector index tests: seeded clustered vectors, both blob stores."""

from __future__ import annotations

import uuid
from pathlib import Path

import numpy as np
import pytest

from vitrina.search import index_kinds
from vitrina.storage.blobs import BlobStore
from vitrina.storage.blobs.local import LocalBlobStore

BUCKET = "vitrina-test-indexes"


def clustered(n: int, dim: int, *, clusters: int = 40, spread: float = 0.8,
              seed: int = 0) -> np.ndarray:
    """Unit vectors around random centres, the way embeddings of similar media gather.
    The centres depend on ``dim`` only, so vectors of different seeds share them (a
    query set and the indexed set)."""
    centres = np.random.default_rng(dim).standard_normal((clusters, dim)).astype(np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    rng = np.random.default_rng(seed)
    points = centres[rng.integers(clusters, size=n)]
    points = points + spread * rng.standard_normal((n, dim)).astype(np.float32) / np.sqrt(dim)
    return (points / np.linalg.norm(points, axis=1, keepdims=True)).astype(np.float32)


@pytest.fixture(params=index_kinds().names())
def kind(request: pytest.FixtureRequest):
    return index_kinds().get(request.param)


@pytest.fixture(params=["file", "s3"])
def blobs(request: pytest.FixtureRequest, tmp_path: Path) -> BlobStore:
    if request.param == "file":
        return LocalBlobStore(tmp_path / "blobs")
    import boto3
    from botocore.config import Config

    from vitrina.storage.blobs.s3 import S3BlobStore

    client = boto3.client(
        "s3", endpoint_url=request.getfixturevalue("s3_endpoint"),
        config=Config(s3={"addressing_style": "path"}),
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1",
    )
    if BUCKET not in {b["Name"] for b in client.list_buckets()["Buckets"]}:
        client.create_bucket(Bucket=BUCKET)
    return S3BlobStore(BUCKET, f"t/{uuid.uuid4().hex}", client=client, temp_dir=tmp_path)
