"""A blob store in a local directory: one file per key, atomic writes, ranged reads.

Writes go to ``<root>/.tmp/``, are fsynced, renamed into place with ``os.replace`` and
the directory is fsynced, so after a crash a key holds either nothing, its old bytes
or its new bytes, never a prefix. Leftover temp files are never listed as keys; idle
workers remove those older than a day (:meth:`LocalBlobStore.sweep_temp`).
"""

from __future__ import annotations

import os
import shutil
import stat
from collections.abc import Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import BinaryIO
from urllib.parse import unquote, urlsplit

from vitrina.errors import ConfigError, Conflict, InvalidKey, NotFound
from vitrina.storage.blobs import validate_key, validate_prefix
from vitrina.storage.blobs._io import ChunkIterator, TempFiles, check_range

TEMP_DIR = ".tmp"
_COPY_CHUNK = 1 << 20


def _copy_stream(src: BinaryIO, dst: BinaryIO) -> None:
    shutil.copyfileobj(src, dst, _COPY_CHUNK)


def _fsync_path(path: Path, directory: bool = False) -> None:
    flags = os.O_RDONLY | (getattr(os, "O_DIRECTORY", 0) if directory else 0)
    fd = os.open(path, flags)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class LocalBlobStore:
    """Blobs as files under ``root``; ``root/.tmp`` is reserved for staging."""

    name = "local"

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root).expanduser().absolute()
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            (self.root / TEMP_DIR).mkdir(exist_ok=True)
        except OSError as exc:
            raise ConfigError(
                f"Cannot create the blob directory {str(self.root)!r}: {exc.strerror}.",
                details={"root": str(self.root)},
            ) from exc
        self._temps = TempFiles(self.root / TEMP_DIR)

    @classmethod
    def from_url(cls, url: str) -> LocalBlobStore:
        """``file:///absolute/path`` (``file://localhost/...`` too); no options."""
        parts = urlsplit(url)
        if parts.scheme.lower() != "file" or parts.netloc not in ("", "localhost"):
            raise ConfigError(
                "A local blob store URL must look like file:///absolute/path.",
                details={"url": url},
            )
        if parts.query or parts.fragment:
            raise ConfigError(
                "A local blob store URL takes no options.",
                details={"url": url, "options": parts.query or parts.fragment},
            )
        path = unquote(parts.path)
        if not path.startswith("/"):
            raise ConfigError("A local blob store path must be absolute.", details={"url": url})
        return cls(Path(path))

    def __repr__(self) -> str:
        return f"LocalBlobStore({str(self.root)!r})"

    # -- writing ---------------------------------------------------------------------

    def new_temp(self) -> AbstractContextManager[tuple[Path, BinaryIO]]:
        return self._temps.new()

    def put_file(self, key: str, path: Path) -> None:
        dest = self._path(key)
        path = Path(path)
        if self._temps.owns(path):
            self._temps.release(path)
            _fsync_path(path)
            self._commit(path, dest)
            return
        # Someone else's file: copy it, so the caller keeps the original.
        with open(path, "rb") as src, self._temps.new() as (tmp, handle):
            _copy_stream(src, handle)
            self._seal(tmp, handle)
            self._commit(tmp, dest)

    def put_bytes(self, key: str, data: bytes, *, durable: bool = True) -> None:
        dest = self._path(key)
        with self._temps.new() as (tmp, handle):
            handle.write(data)
            self._seal(tmp, handle, durable)
            self._commit(tmp, dest, durable)

    def _seal(self, tmp: Path, handle: BinaryIO, durable: bool = True) -> None:
        handle.flush()
        if durable:
            os.fsync(handle.fileno())
        self._temps.release(tmp)

    def _commit(self, tmp: Path, dest: Path, durable: bool = True) -> None:
        self._make_parents(dest.parent, durable)
        try:
            os.replace(tmp, dest)
        except (IsADirectoryError, NotADirectoryError) as exc:
            raise self._conflict(dest) from exc
        if durable:
            _fsync_path(dest.parent, directory=True)

    def _make_parents(self, directory: Path, durable: bool = True) -> None:
        missing: list[Path] = []
        while directory != self.root and not directory.is_dir():
            missing.append(directory)
            directory = directory.parent
        for d in reversed(missing):
            try:
                d.mkdir()
            except FileExistsError as exc:
                if not d.is_dir():  # a blob sits where a directory is needed
                    raise self._conflict(d) from exc
                continue  # made concurrently by another writer
            except NotADirectoryError as exc:
                raise self._conflict(d) from exc
            # A new directory entry is durable only once its parent is fsynced.
            if durable:
                _fsync_path(d.parent, directory=True)

    def _conflict(self, path: Path) -> Conflict:
        key = path.relative_to(self.root).as_posix()
        return Conflict(
            "A local blob key cannot be both a blob and a prefix of another blob's key.",
            details={"key": key},
        )

    # -- reading ---------------------------------------------------------------------

    def open_range(
        self, key: str, start: int = 0, end: int | None = None, chunk_size: int = 1 << 16
    ) -> Iterator[bytes]:
        path = self._path(key)
        check_range(start, end, chunk_size)
        try:
            handle = open(path, "rb")  # noqa: SIM115 - the returned iterator closes it
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError) as exc:
            raise self._missing(key) from exc
        handle.seek(start)
        return ChunkIterator(handle, None if end is None else end - start, chunk_size)

    def read_bytes(self, key: str) -> bytes:
        path = self._path(key)
        try:
            return path.read_bytes()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError) as exc:
            raise self._missing(key) from exc

    def size(self, key: str) -> int:
        path = self._path(key)
        try:
            info = path.stat()
        except (FileNotFoundError, NotADirectoryError) as exc:
            raise self._missing(key) from exc
        if not stat.S_ISREG(info.st_mode):
            raise self._missing(key)
        return info.st_size

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def delete(self, key: str) -> None:
        path = self._path(key)
        try:
            path.unlink()
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            return
        _fsync_path(path.parent, directory=True)

    def local_path(self, key: str) -> Path | None:
        """The blob's file, for readers that mmap it; NotFound if missing."""
        path = self._path(key)
        if not path.is_file():
            raise self._missing(key)
        return path

    def keys(self, prefix: str = "") -> Iterator[str]:
        validate_prefix(prefix)
        head, _, name_start = prefix.rpartition("/")
        start_dir = self.root / head if head else self.root
        if head and head.split("/", 1)[0] == TEMP_DIR:
            return iter(())
        return self._walk(start_dir, head, name_start)

    def _walk(self, directory: Path, rel: str, name_start: str = "") -> Iterator[str]:
        # Directories sort as "name/" so the depth-first walk yields keys in
        # lexicographic order, the order S3 lists them in.
        try:
            with os.scandir(directory) as scan:
                entries = [
                    (e.name + "/" if e.is_dir(follow_symlinks=False) else e.name, e)
                    for e in scan
                    if e.name.startswith(name_start)
                ]
        except (FileNotFoundError, NotADirectoryError):
            return
        for sort_name, entry in sorted(entries, key=lambda pair: pair[0]):
            key = f"{rel}/{entry.name}" if rel else entry.name
            if sort_name.endswith("/"):
                if not rel and entry.name == TEMP_DIR:
                    continue
                yield from self._walk(Path(entry.path), key)
            elif entry.is_file(follow_symlinks=False) and _is_valid_key(key):
                yield key

    # -- housekeeping ----------------------------------------------------------------

    def sweep_temp(self, max_age_seconds: float = 24 * 3600) -> int:
        return self._temps.sweep(max_age_seconds)

    # -- keys ------------------------------------------------------------------------

    def _path(self, key: str) -> Path:
        validate_key(key)
        if key.split("/", 1)[0] == TEMP_DIR:
            raise InvalidKey(
                f"Blob keys under {TEMP_DIR!r} are reserved for staging.",
                details={"key": key},
            )
        return self.root / key

    @staticmethod
    def _missing(key: str) -> NotFound:
        return NotFound("No blob is stored under this key.", details={"key": key})


def _is_valid_key(key: str) -> bool:
    try:
        validate_key(key)
    except InvalidKey:
        return False
    return True
