"""What only the local store promises: layout, staging area, conflicts, housekeeping."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from vitrina.errors import Conflict, InvalidKey, NotFound
from vitrina.storage.blobs.local import TEMP_DIR, LocalBlobStore


@pytest.fixture
def local(tmp_path: Path) -> LocalBlobStore:
    return LocalBlobStore(tmp_path / "root" / "blobs")


def test_root_and_staging_dir_are_created(local: LocalBlobStore, tmp_path: Path) -> None:
    assert local.root == tmp_path / "root" / "blobs"
    assert (local.root / TEMP_DIR).is_dir()


def test_blob_is_a_plain_file_at_its_key(local: LocalBlobStore, photo: Path) -> None:
    local.put_file("originals/ab/cd/photo.png", photo)
    path = local.root / "originals" / "ab" / "cd" / "photo.png"
    assert path.read_bytes() == photo.read_bytes()
    assert local.local_path("originals/ab/cd/photo.png") == path


def test_temp_files_live_on_the_store_filesystem_and_are_renamed(
    local: LocalBlobStore, photo: Path
) -> None:
    with local.new_temp() as (path, handle):
        assert path.parent == local.root / TEMP_DIR
        assert path.stat().st_dev == local.root.stat().st_dev
        handle.write(photo.read_bytes())
        inode = path.stat().st_ino
        local.put_file("p.png", path)
        assert not path.exists()  # consumed by the rename
        assert handle.closed  # later writes cannot change the committed blob
    assert (local.root / "p.png").stat().st_ino == inode
    assert list((local.root / TEMP_DIR).iterdir()) == []


def test_staging_area_is_not_addressable(local: LocalBlobStore) -> None:
    for key in (TEMP_DIR, f"{TEMP_DIR}/x", f"{TEMP_DIR}/a/b"):
        with pytest.raises(InvalidKey):
            local.put_bytes(key, b"x")
        with pytest.raises(InvalidKey):
            local.read_bytes(key)
    assert list(local.keys(TEMP_DIR)) == []
    assert list(local.keys(f"{TEMP_DIR}/")) == []
    assert local.exists(f"{TEMP_DIR}x") is False  # only the exact segment is reserved


def test_key_that_is_both_blob_and_prefix_is_a_conflict(local: LocalBlobStore) -> None:
    local.put_bytes("a", b"blob")
    with pytest.raises(Conflict) as caught:
        local.put_bytes("a/b", b"under a blob")
    assert caught.value.code == "conflict"
    local.put_bytes("c/d", b"x")
    with pytest.raises(Conflict):
        local.put_bytes("c", b"over a directory")
    assert local.read_bytes("a") == b"blob"
    assert local.exists("c") is False
    with pytest.raises(NotFound):
        local.size("c")
    with pytest.raises(NotFound):
        local.read_bytes("c")
    with pytest.raises(NotFound):
        local.local_path("c")
    local.delete("c")  # a directory is no blob: nothing to delete
    assert local.read_bytes("c/d") == b"x"
    assert list(local.keys()) == ["a", "c/d"]
    assert list((local.root / TEMP_DIR).iterdir()) == []


def test_keys_skips_files_that_are_not_valid_keys(local: LocalBlobStore) -> None:
    local.put_bytes("good", b"x")
    (local.root / "bad name").write_bytes(b"dropped in by hand")
    (local.root / "link").symlink_to(local.root / "good")
    assert list(local.keys()) == ["good"]


def test_sweep_temp_removes_only_old_leftovers(local: LocalBlobStore) -> None:
    staging = local.root / TEMP_DIR
    old = staging / "blob-crashed.part"
    old.write_bytes(b"left by a killed writer")
    day_ago = time.time() - 2 * 24 * 3600
    os.utime(old, (day_ago, day_ago))
    fresh = staging / "blob-live.part"
    fresh.write_bytes(b"another process is still writing")
    with local.new_temp() as (mine, _):
        os.utime(mine, (day_ago, day_ago))  # old but still open here: kept
        assert local.sweep_temp(max_age_seconds=3600) == 1
        assert mine.exists()
    assert not old.exists() and fresh.exists()


def test_unstarted_range_iterator_can_be_closed(local: LocalBlobStore) -> None:
    local.put_bytes("k", b"0123456789")
    chunks = local.open_range("k", 2, 6, chunk_size=3)
    chunks.close()  # type: ignore[attr-defined]
    assert list(chunks) == []
    assert list(local.open_range("k", 2, 6, chunk_size=3)) == [b"234", b"5"]
