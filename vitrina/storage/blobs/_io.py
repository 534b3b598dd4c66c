"""Pieces both stores share: range checks, a closing chunk iterator, staged temp files."""

from __future__ import annotations

import os
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO, Protocol

from vitrina.errors import InvalidInput


class Readable(Protocol):
    def read(self, size: int = -1) -> bytes: ...

    def close(self) -> None: ...


def check_range(start: int, end: int | None, chunk_size: int) -> None:
    """Refuse a negative or inverted range before touching storage."""
    if isinstance(start, bool) or not isinstance(start, int) or start < 0:
        raise InvalidInput(
            "A range start must be a non-negative integer.", details={"start": start}
        )
    if end is not None and (isinstance(end, bool) or not isinstance(end, int) or end < start):
        raise InvalidInput(
            "A range end must be an integer not below its start.",
            details={"start": start, "end": end},
        )
    if not isinstance(chunk_size, int) or chunk_size <= 0:
        raise ValueError(f"chunk_size must be a positive integer, got {chunk_size!r}")


class ChunkIterator(Iterator[bytes]):
    """Yields up to ``length`` bytes (None = until EOF) from ``source`` in chunks.

    Unlike a generator, it owns its source from construction, so ``close()`` releases
    it even when iteration never started (a response that was never sent).
    """

    def __init__(self, source: Readable | None, length: int | None, chunk_size: int) -> None:
        self._source = source
        self._remaining = length
        self._chunk_size = chunk_size
        if source is not None and length == 0:
            self.close()

    def __iter__(self) -> ChunkIterator:
        return self

    def __next__(self) -> bytes:
        if self._source is None:
            raise StopIteration
        want = (
            self._chunk_size if self._remaining is None else min(self._chunk_size, self._remaining)
        )
        chunk = self._source.read(want)
        if not chunk:
            self.close()
            raise StopIteration
        if self._remaining is not None:
            self._remaining -= len(chunk)
            if self._remaining <= 0:
                self.close()
        return chunk

    def close(self) -> None:
        source, self._source = self._source, None
        if source is not None:
            source.close()

    def __del__(self) -> None:
        self.close()


class TempFiles:
    """Staged temp files in one directory, with their open handles.

    Tracking the handle lets a commit flush what the caller wrote but did not flush;
    otherwise a blob could be committed missing its buffered tail.
    """

    def __init__(self, directory: Path, prefix: str = "blob-") -> None:
        self.directory = directory
        self._prefix = prefix
        self._open: dict[Path, BinaryIO] = {}
        self._lock = threading.Lock()

    @contextmanager
    def new(self) -> Iterator[tuple[Path, BinaryIO]]:
        fd, name = tempfile.mkstemp(dir=self.directory, prefix=self._prefix, suffix=".part")
        path = _abs(Path(name))
        handle = os.fdopen(fd, "w+b")
        with self._lock:
            self._open[path] = handle
        try:
            yield path, handle
        finally:
            with self._lock:
                self._open.pop(path, None)
            handle.close()
            path.unlink(missing_ok=True)

    def sweep(self, max_age_seconds: float) -> int:
        """Remove this kind's staged files older than ``max_age_seconds`` that no handle
        here holds (left by crashed writers); returns how many went. Younger ones may
        be live uploads of other processes sharing the directory."""
        cutoff = time.time() - max_age_seconds
        removed = 0
        with os.scandir(self.directory) as scan:
            for entry in scan:
                if not (entry.name.startswith(self._prefix) and entry.name.endswith(".part")):
                    continue
                if not entry.is_file(follow_symlinks=False) or self.owns(Path(entry.path)):
                    continue
                if entry.stat(follow_symlinks=False).st_mtime < cutoff:
                    Path(entry.path).unlink(missing_ok=True)
                    removed += 1
        return removed

    def owns(self, path: Path) -> bool:
        with self._lock:
            return _abs(path) in self._open

    def release(self, path: Path) -> None:
        """Flush and close a staged file's handle before it is committed.

        Closing it means a later write through the handle fails loudly instead of
        changing a blob that is already committed.
        """
        with self._lock:
            handle = self._open.get(_abs(path))
        if handle is not None and not handle.closed:
            handle.close()


def _abs(path: Path) -> Path:
    return Path(os.path.abspath(path))
