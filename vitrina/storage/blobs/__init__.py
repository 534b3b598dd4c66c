"""Blob stores: immutable bytes under validated keys, on a local disk or in S3.

Every store implements :class:`BlobStore`. Keys are validated before any I/O
(:func:`validate_key`), so no method can be steered outside the store. Writes are
atomic: a reader sees either no blob or the whole blob, never a prefix of it.

Stores are opened from a URL by the store kind registered for its scheme (the
runtime's ``registries.stores``)::

    open_store("/var/lib/vitrina/blobs", stores)            # LocalBlobStore
    open_store("file:///var/lib/vitrina/blobs", stores)     # LocalBlobStore
    open_store("s3://bucket/prefix?endpoint_url=http://127.0.0.1:9000&region=us-east-1", stores)
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Protocol, runtime_checkable

from vitrina.errors import ConfigError, InvalidKey

if TYPE_CHECKING:
    from vitrina.plugins import Registry

__all__ = [
    "MAX_KEY_LENGTH",
    "BlobStore",
    "LocalStores",
    "S3Stores",
    "StoreKind",
    "content_key",
    "open_store",
    "validate_key",
]

MAX_KEY_LENGTH = 1024

_KEY_CHARS = re.compile(r"[A-Za-z0-9._/-]+")
_SHA256 = re.compile(r"[0-9a-f]{64}")
_URL_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*)://")


@runtime_checkable
class BlobStore(Protocol):
    """Bytes under keys. Writes are atomic; reads stream; keys are validated first."""

    name: str

    def new_temp(self) -> AbstractContextManager[tuple[Path, BinaryIO]]:
        """A local temp file to stage an upload into; removed on exit, committed or not."""
        ...

    def sweep_temp(self, max_age_seconds: float = 24 * 3600) -> int:
        """Remove staged files older than ``max_age_seconds`` left by crashed writers
        (younger ones may be live uploads of other processes); how many went."""
        ...

    def put_file(self, key: str, path: Path) -> None:
        """Commit a finished local file under ``key`` atomically.

        A file from :meth:`new_temp` may be consumed (renamed into place); any other
        file is copied and left where it is.
        """
        ...

    def put_bytes(self, key: str, data: bytes, *, durable: bool = True) -> None:
        """Store ``data`` under ``key`` atomically.

        ``durable=False`` is for derived data that can be made again (derivatives,
        caches): still atomic, but not forced to disk, so an operating-system crash
        (not a process crash) may lose it.
        """
        ...

    def open_range(
        self, key: str, start: int = 0, end: int | None = None, chunk_size: int = 1 << 16
    ) -> Iterator[bytes]:
        """Stream bytes ``[start, end)`` (clipped to the blob); NotFound raised at call time."""
        ...

    def read_bytes(self, key: str) -> bytes:
        """The whole blob."""
        ...

    def size(self, key: str) -> int:
        """Size in bytes; NotFound if missing."""
        ...

    def exists(self, key: str) -> bool:
        """Whether a blob is stored under ``key``."""
        ...

    def delete(self, key: str) -> None:
        """Remove the blob; deleting a missing key is not an error."""
        ...

    def local_path(self, key: str) -> Path | None:
        """A real file path for the blob when the store is local, else None."""
        ...

    def keys(self, prefix: str = "") -> Iterator[str]:
        """Keys starting with ``prefix`` (a plain string prefix), in lexicographic order."""
        ...


def validate_key(key: str) -> str:
    """Return ``key`` unchanged if it is a safe relative key, else raise InvalidKey.

    Allowed: 1..1024 characters from ``[A-Za-z0-9._/-]``, ``/``-separated segments,
    none of them empty, ``.`` or ``..``. This rules out absolute paths, traversal,
    backslashes, NUL and every other control character.
    """
    if not isinstance(key, str):
        raise InvalidKey("A blob key must be a string.", details={"type": type(key).__name__})
    shown = {"key": repr(key[:100])}
    if not key:
        raise InvalidKey("A blob key must not be empty.", details=shown)
    if len(key) > MAX_KEY_LENGTH:
        raise InvalidKey(
            f"A blob key must be at most {MAX_KEY_LENGTH} characters.",
            details={**shown, "length": len(key)},
        )
    if _KEY_CHARS.fullmatch(key) is None:
        raise InvalidKey(
            "A blob key may only use the characters A-Z a-z 0-9 . _ / -.", details=shown
        )
    if key.startswith("/"):
        raise InvalidKey("A blob key must be relative, not start with '/'.", details=shown)
    for segment in key.split("/"):
        if segment in ("", ".", ".."):
            raise InvalidKey("A blob key must not have empty, '.' or '..' segments.", details=shown)
    return key


def validate_prefix(prefix: str) -> str:
    """A listing prefix: empty, or a key prefix that may end in '/'."""
    if prefix == "":
        return prefix
    validate_key(prefix.removesuffix("/"))
    return prefix


def content_key(namespace: str, sha256: str, suffix: str = "") -> str:
    """The content-addressed key ``<namespace>/<ab>/<cd>/<sha256><suffix>``.

    Two levels of shards keep directories small on local disks. ``sha256`` must be 64
    lowercase hex digits, so one content always maps to one key.
    """
    if not isinstance(sha256, str) or _SHA256.fullmatch(sha256) is None:
        raise InvalidKey(
            "A content key needs a sha256 digest of 64 lowercase hex digits.",
            details={"sha256": repr(str(sha256)[:100])},
        )
    return validate_key(f"{namespace}/{sha256[:2]}/{sha256[2:4]}/{sha256}{suffix}")


# -- store kinds by URL scheme -----------------------------------------------------------


class StoreKind(Protocol):
    """A kind of blob store, named by the URL scheme that opens it."""

    name: str

    def open(self, url: str) -> BlobStore: ...


class LocalStores:
    name = "file"

    def open(self, url: str) -> BlobStore:
        from vitrina.storage.blobs.local import LocalBlobStore

        return LocalBlobStore.from_url(url)


class S3Stores:
    name = "s3"

    def open(self, url: str) -> BlobStore:
        from vitrina.storage.blobs.s3 import S3BlobStore

        return S3BlobStore.from_url(url)


def open_store(url: str, stores: Registry[StoreKind]) -> BlobStore:
    """Open the store a URL names with the kind registered for its scheme; a plain
    filesystem path means a local store."""
    if not isinstance(url, str) or not url.strip():
        raise ConfigError("A blob store URL or path is required.", details={"url": repr(url)})
    match = _URL_SCHEME.match(url)
    if match is None:
        return stores.get(LocalStores.name).open(Path(url).expanduser().absolute().as_uri())
    scheme = match.group(1).lower()
    kind = stores.find(scheme)
    if kind is None:
        raise ConfigError(
            f"Unknown blob store scheme {scheme!r}; known: {', '.join(sorted(stores.names()))}.",
            details={"scheme": scheme},
        )
    return kind.open(url)
