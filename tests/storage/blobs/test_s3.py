"""What only the S3 store promises: multipart uploads, URL options, error mapping."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from vitrina.errors import ConfigError, NotFound, Unavailable
from vitrina.storage.blobs import open_store
from vitrina.testing import make_registries

STORES = make_registries().stores

MiB = 1 << 20


def test_big_files_go_up_in_parts(make_s3_store, s3_client, s3_bucket: str, big_blob: Path) -> None:
    store = make_s3_store()
    store.put_file("big/blob", big_blob)
    head = s3_client.head_object(Bucket=s3_bucket, Key=f"{store.prefix}/big/blob")
    assert head["ETag"].strip('"').endswith("-3")  # 11 MiB in 5 MiB parts
    assert head["ContentLength"] == big_blob.stat().st_size
    assert hashlib.sha256(store.read_bytes("big/blob")).digest() == (
        hashlib.sha256(big_blob.read_bytes()).digest()
    )


def test_small_blobs_are_single_puts_under_the_prefix(
    make_s3_store, s3_client, s3_bucket: str, photo: Path
) -> None:
    store = make_s3_store()
    store.put_file("p.png", photo)
    head = s3_client.head_object(Bucket=s3_bucket, Key=f"{store.prefix}/p.png")
    assert "-" not in head["ETag"]
    assert head["ETag"].strip('"') == hashlib.md5(photo.read_bytes()).hexdigest()


def test_staged_temp_files_are_local_and_removed(make_s3_store, tmp_path: Path) -> None:
    store = make_s3_store(temp_dir=tmp_path / "staging")
    (tmp_path / "staging").mkdir()
    with store.new_temp() as (path, handle):
        assert path.parent == tmp_path / "staging"
        handle.write(b"payload")
        store.put_file("k", path)
    assert list((tmp_path / "staging").iterdir()) == []
    assert store.read_bytes("k") == b"payload"


def test_open_store_from_url_with_credentials_from_the_environment(
    s3_endpoint: str, s3_bucket: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_DEFAULT_REGION", "AWS_REGION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))

    store = open_store(f"s3://{s3_bucket}/from-url/p1?endpoint_url={s3_endpoint}&region=us-east-1", STORES)
    assert store.name == "s3" and store.prefix == "from-url/p1"
    store.put_bytes("a/b", b"via url")
    assert store.read_bytes("a/b") == b"via url"
    assert list(store.keys()) == ["a/b"]
    store.delete("a/b")
    assert list(store.keys()) == []


@pytest.mark.parametrize(
    "url",
    [
        "s3://bucket/x?colour=blue",
        "s3://bucket?region=a&region=b",
        "s3://Bad_Bucket/x",
        "s3:///no-bucket",
        "s3://bucket/../x",
        "s3://bucket/x#frag",
    ],
)
def test_bad_s3_urls_are_config_errors(url: str) -> None:
    with pytest.raises(ConfigError) as caught:
        open_store(url, STORES)
    assert caught.value.code == "config_error"


def test_unknown_option_is_named(s3_endpoint: str) -> None:
    with pytest.raises(ConfigError) as caught:
        open_store(f"s3://bucket/x?endpoint_url={s3_endpoint}&colour=blue", STORES)
    assert caught.value.details["unknown"] == ["colour"]


def test_missing_bucket_is_unavailable_not_not_found(make_s3_store) -> None:
    store = make_s3_store(bucket="no-such-bucket-here")
    with pytest.raises(Unavailable) as caught:
        store.put_bytes("k", b"x")
    assert caught.value.code == "unavailable" and caught.value.status == 503
    with pytest.raises(Unavailable):
        store.read_bytes("k")
    with pytest.raises(Unavailable):
        list(store.keys())


def test_head_404_maps_to_not_found(make_s3_store) -> None:
    store = make_s3_store()
    with pytest.raises(NotFound):
        store.size("missing")
    assert store.local_path("missing") is None
