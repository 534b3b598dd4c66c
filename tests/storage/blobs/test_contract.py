"""The BlobStore contract, run against every registered kind of store."""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

import pytest

from vitrina.errors import InvalidInput, InvalidKey, NotFound
from vitrina.storage.blobs import BlobStore, content_key

MiB = 1 << 20
BAD_KEYS = ["../x", "/etc/passwd", "a/../../b", "a\\b", "a\x00b", ""]


def test_implements_the_protocol(store: BlobStore) -> None:
    assert isinstance(store, BlobStore)
    assert isinstance(store.name, str) and store.name


def test_photo_round_trip_under_its_content_key(
    store: BlobStore, photo: Path, photo_sha256: str
) -> None:
    original = photo.read_bytes()
    key = content_key("originals", photo_sha256, ".png")
    store.put_file(key, photo)

    data = store.read_bytes(key)
    assert hashlib.sha256(data).hexdigest() == photo_sha256
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert store.size(key) == len(original) == 791555
    assert store.exists(key)
    # Committing a file the store did not stage copies it: the source is untouched.
    assert photo.read_bytes() == original


def test_put_bytes_round_trip_and_overwrite(store: BlobStore) -> None:
    store.put_bytes("derivatives/a.webp", b"first version")
    assert store.read_bytes("derivatives/a.webp") == b"first version"
    store.put_bytes("derivatives/a.webp", b"second")
    assert store.read_bytes("derivatives/a.webp") == b"second"
    assert store.size("derivatives/a.webp") == 6
    store.put_bytes("empty", b"")
    assert store.exists("empty") and store.size("empty") == 0
    assert store.read_bytes("empty") == b""


def test_staged_temp_file_is_committed_even_unflushed(store: BlobStore, photo: Path) -> None:
    data = photo.read_bytes()
    with store.new_temp() as (path, handle):
        assert path.is_file()
        handle.write(data)  # left in Python's buffer on purpose
        store.put_file("uploads/one.png", path)
        staged = path
    assert not staged.exists()
    assert store.read_bytes("uploads/one.png") == data


def test_uncommitted_temp_file_is_removed_and_stores_nothing(store: BlobStore) -> None:
    with store.new_temp() as (path, handle):
        handle.write(b"abandoned upload")
        handle.flush()
        assert path.read_bytes() == b"abandoned upload"
    assert not path.exists()
    assert list(store.keys()) == []


def test_temp_file_is_removed_when_the_upload_fails(store: BlobStore) -> None:
    with pytest.raises(RuntimeError), store.new_temp() as (path, handle):
        handle.write(b"half")
        raise RuntimeError("client went away")
    assert not path.exists()


def test_big_file_round_trip(store: BlobStore, big_blob: Path) -> None:
    digest = hashlib.sha256(big_blob.read_bytes()).hexdigest()
    store.put_file("big/video.bin", big_blob)
    assert store.size("big/video.bin") == big_blob.stat().st_size
    streamed = hashlib.sha256()
    for chunk in store.open_range("big/video.bin", chunk_size=MiB):
        assert 0 < len(chunk) <= MiB
        streamed.update(chunk)
    assert streamed.hexdigest() == digest


@pytest.mark.parametrize(
    ("start", "end"),
    [
        (0, 1),  # first byte
        (1000, 70_000),  # middle, across several chunks
        (791554, 791555),  # last byte
        (0, None),  # whole
        (0, 791555),  # whole, explicit end
        (791000, None),  # tail
        (500, 500),  # empty range
        (791555, None),  # starts at the end
        (800_000, None),  # starts past the end
        (790_000, 900_000),  # end past the blob: clipped
    ],
)
def test_ranges(store: BlobStore, photo: Path, start: int, end: int | None) -> None:
    data = photo.read_bytes()
    store.put_file("p.png", photo)
    chunks = list(store.open_range("p.png", start, end, chunk_size=4096))
    assert all(0 < len(c) <= 4096 for c in chunks)
    assert b"".join(chunks) == data[start:end]


def test_first_and_last_bytes_are_the_real_ones(store: BlobStore, photo: Path) -> None:
    store.put_file("p.png", photo)
    assert b"".join(store.open_range("p.png", 0, 1)) == b"\x89"
    assert b"".join(store.open_range("p.png", 791554)) == photo.read_bytes()[-1:]


@pytest.mark.parametrize(("start", "end"), [(-1, None), (10, 5), (0, -1)])
def test_bad_ranges_are_refused(store: BlobStore, start: int, end: int | None) -> None:
    store.put_bytes("k", b"0123456789")
    with pytest.raises(InvalidInput) as caught:
        store.open_range("k", start, end)
    assert caught.value.code == "invalid_input" and caught.value.status == 400


def test_missing_key_is_not_found(store: BlobStore) -> None:
    for call in (
        lambda: store.read_bytes("no/such/blob"),
        lambda: store.open_range("no/such/blob"),
        lambda: store.open_range("no/such/blob", 3, 3),
        lambda: store.open_range("no/such/blob", 3, 9),
        lambda: store.size("no/such/blob"),
    ):
        with pytest.raises(NotFound) as caught:
            call()
        assert caught.value.code == "not_found" and caught.value.status == 404
    assert store.exists("no/such/blob") is False


def test_delete_is_idempotent(store: BlobStore) -> None:
    store.put_bytes("a/b", b"x")
    store.put_bytes("a/c", b"y")
    store.delete("a/b")
    assert not store.exists("a/b")
    store.delete("a/b")
    store.delete("never/stored")
    assert list(store.keys()) == ["a/c"]
    with pytest.raises(NotFound):
        store.read_bytes("a/b")


def test_keys_lists_what_was_put_in_order_and_no_temp_files(store: BlobStore) -> None:
    names = ["originals/ab/cd/1", "originals/ab/ce/2", "originals-old/3", "thumbs/1.webp", "z"]
    for name in reversed(names):
        store.put_bytes(name, name.encode())
    with store.new_temp() as (_, handle):  # a live upload must not show
        handle.write(b"staged")
        handle.flush()
        assert list(store.keys()) == sorted(names)
    assert list(store.keys("originals/")) == ["originals/ab/cd/1", "originals/ab/ce/2"]
    assert list(store.keys("originals")) == [
        "originals-old/3",
        "originals/ab/cd/1",
        "originals/ab/ce/2",
    ]
    assert list(store.keys("originals/ab/c")) == ["originals/ab/cd/1", "originals/ab/ce/2"]
    assert list(store.keys("thumbs/1.webp")) == ["thumbs/1.webp"]
    assert list(store.keys("nothing/")) == []
    assert list(store.keys("z/")) == []


def test_local_path_is_a_real_file_only_for_local(store: BlobStore, photo: Path) -> None:
    store.put_file("p.png", photo)
    path = store.local_path("p.png")
    if store.name == "local":
        assert path is not None and path.read_bytes() == photo.read_bytes()
    else:
        assert path is None


def _calls(store: BlobStore, key: str, photo: Path):
    return [
        ("put_file", lambda: store.put_file(key, photo)),
        ("put_bytes", lambda: store.put_bytes(key, b"evil")),
        ("open_range", lambda: store.open_range(key)),
        ("read_bytes", lambda: store.read_bytes(key)),
        ("size", lambda: store.size(key)),
        ("exists", lambda: store.exists(key)),
        ("delete", lambda: store.delete(key)),
        ("local_path", lambda: store.local_path(key)),
    ]


@pytest.mark.parametrize("key", BAD_KEYS, ids=repr)
def test_every_method_refuses_bad_keys_and_writes_nothing(
    store: BlobStore, photo: Path, tmp_path: Path, key: str, request: pytest.FixtureRequest
) -> None:
    before_fs = sorted(p for p in tmp_path.rglob("*") if p.is_file())
    before_bucket = request.getfixturevalue("bucket_keys")() if store.name == "s3" else None
    store.put_bytes("kept", b"kept")
    for name, call in _calls(store, key, photo):
        with pytest.raises(InvalidKey) as caught:
            call()
        assert caught.value.code == "invalid_key", name
        assert caught.value.status == 400, name
    assert list(store.keys()) == ["kept"]
    store.delete("kept")
    assert sorted(p for p in tmp_path.rglob("*") if p.is_file()) == before_fs
    assert not (tmp_path / "x").exists() and not (tmp_path.parent / "x").exists()
    if before_bucket is not None:
        assert request.getfixturevalue("bucket_keys")() == before_bucket


@pytest.mark.parametrize("prefix", ["../", "/etc", "a/../", "a\\b", "a\x00", "a//"], ids=repr)
def test_keys_refuses_bad_prefixes(store: BlobStore, prefix: str) -> None:
    with pytest.raises(InvalidKey) as caught:
        store.keys(prefix)
    assert caught.value.code == "invalid_key"


def test_sweep_temp_removes_only_its_own_old_leftovers(store: BlobStore) -> None:
    day_ago = time.time() - 2 * 24 * 3600
    with store.new_temp() as (mine, _):
        crashed = mine.with_name(mine.name.replace(".part", "-crashed.part"))
        live = mine.with_name(mine.name.replace(".part", "-live.part"))
        foreign = mine.parent / "another-program.part"
        for path in (crashed, live, foreign):
            path.write_bytes(b"staged bytes")
        for path in (crashed, foreign, mine):
            os.utime(path, (day_ago, day_ago))
        assert store.sweep_temp(max_age_seconds=3600) == 1
        # ours and old, not open: gone; young, foreign or still open here: kept
        assert not crashed.exists() and live.exists() and foreign.exists() and mine.exists()
