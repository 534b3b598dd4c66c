"""Crash safety of the local store: a writer SIGKILLed mid-way never leaves a partial blob.

Each test runs a writer in a child Python process, waits until it reports that it is
at the dangerous point, kills it with SIGKILL and inspects what is left on disk.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from vitrina.storage.blobs.local import TEMP_DIR, LocalBlobStore

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")

REPO = Path(__file__).resolve().parents[3]
MiB = 1 << 20

WRITER = r"""
import sys
from pathlib import Path

from vitrina.storage.blobs import local

store = local.LocalBlobStore(sys.argv[1])
mode, source = sys.argv[2], Path(sys.argv[3])

if mode == "staged":
    # The whole upload is staged; the writer dies before committing it.
    with store.new_temp() as (path, handle):
        handle.write(source.read_bytes())
        handle.flush()
        print("ready", flush=True)
        sys.stdin.read()
        store.put_file("big/blob", path)

elif mode == "copying":
    # The writer dies while copying a big file into the staging area.
    def copy_then_stall(src, dst):
        dst.write(src.read(1 << 20))
        dst.flush()
        print("ready", flush=True)
        sys.stdin.read()
        dst.write(src.read())

    local._copy_stream = copy_then_stall
    store.put_file("big/blob", source)

elif mode == "loop":
    # Back-to-back writes of distinct blobs; killed wherever it happens to be.
    data = source.read_bytes()
    for i in range(10_000):
        store.put_bytes(f"loop/{i:05d}", i.to_bytes(4, "big") + data)
        print(i, flush=True)
"""


def _start_writer(root: Path, mode: str, source: Path) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
    }
    return subprocess.Popen(
        [sys.executable, "-c", WRITER, str(root), mode, str(source)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def _kill_when(proc: subprocess.Popen[str], line: str) -> None:
    """SIGKILL the writer as soon as it prints ``line``."""
    with proc:
        reached = False
        while not reached:
            got = proc.stdout.readline()  # type: ignore[union-attr]
            if not got:
                break  # the writer exited on its own
            reached = got.strip() == line
        if reached:
            proc.send_signal(signal.SIGKILL)
        _, errors = proc.communicate(timeout=30)
    assert reached, f"writer exited early: {errors}"
    assert proc.returncode == -signal.SIGKILL


def _leftovers(store: LocalBlobStore) -> list[Path]:
    return sorted((store.root / TEMP_DIR).iterdir())


@pytest.fixture
def four_mib(big_blob: Path, tmp_path: Path) -> Path:
    """4 MiB of real photo bytes, so a 1 MiB copy step is clearly partial."""
    path = tmp_path / "four.bin"
    with big_blob.open("rb") as src:
        path.write_bytes(src.read(4 * MiB))
    return path


def test_killed_before_commit_leaves_no_blob(tmp_path: Path, four_mib: Path) -> None:
    store = LocalBlobStore(tmp_path / "blobs")
    _kill_when(_start_writer(store.root, "staged", four_mib), "ready")

    assert not store.exists("big/blob")
    assert list(store.keys()) == []
    (leftover,) = _leftovers(store)  # the staged upload is still there, fully written
    assert leftover.stat().st_size == 4 * MiB
    os.utime(leftover, (0, 0))
    assert store.sweep_temp(max_age_seconds=3600) == 1
    assert _leftovers(store) == []


@pytest.mark.parametrize("had_old_version", [False, True])
def test_killed_during_copy_leaves_old_blob_or_none(
    tmp_path: Path, four_mib: Path, had_old_version: bool
) -> None:
    store = LocalBlobStore(tmp_path / "blobs")
    if had_old_version:
        store.put_bytes("big/blob", b"old version")
    _kill_when(_start_writer(store.root, "copying", four_mib), "ready")

    (leftover,) = _leftovers(store)  # proof that it died mid-copy
    assert leftover.stat().st_size == MiB
    assert list(store.keys()) == (["big/blob"] if had_old_version else [])
    if had_old_version:
        assert store.read_bytes("big/blob") == b"old version"
    else:
        assert not store.exists("big/blob")
    # The source is untouched and a retry succeeds.
    store.put_file("big/blob", four_mib)
    assert store.read_bytes("big/blob") == four_mib.read_bytes()


def test_killed_anywhere_in_a_write_loop_leaves_only_complete_blobs(
    tmp_path: Path, photo: Path
) -> None:
    store = LocalBlobStore(tmp_path / "blobs")
    data = photo.read_bytes()
    _kill_when(_start_writer(store.root, "loop", photo), "5")

    keys = list(store.keys())
    assert keys[:6] == [f"loop/{i:05d}" for i in range(6)]
    digest = hashlib.sha256
    for key in keys:
        i = int(key.rsplit("/", 1)[1])
        blob = store.read_bytes(key)
        assert len(blob) == 4 + len(data), key
        assert digest(blob).digest() == digest(i.to_bytes(4, "big") + data).digest(), key
    assert len(_leftovers(store)) <= 1
