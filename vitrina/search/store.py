"""Indexes kept in the blob store, with a manifest saying what each one covers.

Layout for an index ``name`` of a project::

    indexes/{project}/{name}/v{n}            the index bytes (one version per save)
    indexes/{project}/{name}/manifest.json   which version is current and what it holds

A save writes the new version first and the manifest last; both writes are atomic,
so a reader sees the old index or the new one, never a mixture. The version before
the current one is kept for readers that read the previous manifest; older ones go.
A missing, unreadable or mismatched index (another dimension, metric or kind) is
rebuilt from the vectors the caller supplies.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from vitrina.errors import InvalidInput, VitrinaError
from vitrina.plugins import Registry
from vitrina.search import IndexKind, VectorIndex
from vitrina.search.vectors import IndexUnreadable
from vitrina.storage.blobs import BlobStore, validate_key

log = logging.getLogger(__name__)

MANIFEST_FORMAT = 1
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")

#: called as ``progress(done, total)`` while a rebuild adds vectors; total may be None
Progress = Callable[[int, int | None], None]


@dataclass(frozen=True)
class Manifest:
    version: int
    kind: str
    library: str
    dim: int
    metric: str
    count: int
    #: the catalogue position the index covers: every change up to it is in the index
    position: int
    bytes: int
    sha256: str
    format: int = MANIFEST_FORMAT


@dataclass(frozen=True)
class Source:
    """What a rebuild reads: (id, vector) pairs and the catalogue position they reach."""

    rows: Iterable[tuple[str, Sequence[float] | np.ndarray]]
    position: int
    total: int | None = None


@dataclass(frozen=True)
class Opened:
    index: VectorIndex
    manifest: Manifest
    #: why the stored index was not used (``missing``, ``unreadable``, ``mismatch``), or None
    rebuilt: str | None


class IndexStore:
    def __init__(self, blobs: BlobStore, kinds: Registry[IndexKind]) -> None:
        self.blobs, self.kinds = blobs, kinds

    def manifest(self, project: str, name: str) -> Manifest | None:
        """The current manifest, or None when there is none or it cannot be read."""
        key = self._prefix(project, name) + "manifest.json"
        if not self.blobs.exists(key):
            return None
        try:
            fields = json.loads(self.blobs.read_bytes(key))
            manifest = Manifest(**fields)
        except (ValueError, TypeError, VitrinaError) as exc:
            log.warning("vector index manifest %s unreadable: %s", key, exc)
            return None
        return manifest if manifest.format == MANIFEST_FORMAT else None

    def save(self, project: str, name: str, index: VectorIndex, position: int) -> Manifest:
        """Store ``index`` as the next version covering catalogue ``position``."""
        if not isinstance(position, int) or isinstance(position, bool) or position < 0:
            raise InvalidInput("A catalogue position is a non-negative integer.",
                               details={"position": repr(position)})
        prefix = self._prefix(project, name)
        previous = self.manifest(project, name)
        version = previous.version + 1 if previous else 1
        data = index.save()
        manifest = Manifest(
            version=version, kind=index.kind, library=self.kinds.get(index.kind).library,
            dim=index.dim, metric=index.metric, count=len(index), position=position,
            bytes=len(data), sha256=hashlib.sha256(data).hexdigest(),
        )
        # derived data: it can be rebuilt, so it need not be forced to disk
        self.blobs.put_bytes(f"{prefix}v{version}", data, durable=False)
        self.blobs.put_bytes(f"{prefix}manifest.json", json.dumps(asdict(manifest)).encode(),
                             durable=False)
        for key in self.blobs.keys(f"{prefix}v"):
            old = key.rsplit("/v", 1)[-1]
            if old.isdigit() and int(old) < version - 1:
                self.blobs.delete(key)
        return manifest

    def load(self, project: str, name: str) -> tuple[VectorIndex, Manifest] | None:
        """The current index and its manifest; None when missing. Unreadable bytes raise
        IndexUnreadable."""
        manifest = self.manifest(project, name)
        if manifest is None:
            return None
        key = f"{self._prefix(project, name)}v{manifest.version}"
        if not self.blobs.exists(key):
            return None
        data = self.blobs.read_bytes(key)
        if hashlib.sha256(data).hexdigest() != manifest.sha256:
            raise IndexUnreadable("The stored index does not match its manifest.",
                                  details={"key": key})
        kind = self.kinds.find(manifest.kind)
        if kind is None:  # written by a kind this process does not have
            raise IndexUnreadable(f"No vector index kind {manifest.kind!r} is registered.",
                                  details={"key": key})
        index = kind.load(data)
        if (index.dim, index.metric, len(index)) != (manifest.dim, manifest.metric, manifest.count):
            raise IndexUnreadable("The stored index does not match its manifest.",
                                  details={"key": key})
        return index, manifest

    def open(self, project: str, name: str, *, kind: str, dim: int, metric: str,
             source: Callable[[], Source], progress: Progress | None = None,
             batch_size: int = 4096) -> Opened:
        """The stored index if it is readable and of this kind, dimension and metric;
        else one rebuilt from ``source()`` (called only then) and saved."""
        reason = "missing"
        try:
            found = self.load(project, name)
        except IndexUnreadable as exc:
            log.warning("vector index %s/%s unreadable, rebuilding: %s", project, name, exc)
            found, reason = None, "unreadable"
        if found is not None:
            index, manifest = found
            if (manifest.kind, manifest.dim, manifest.metric) == (kind, dim, metric):
                return Opened(index, manifest, rebuilt=None)
            reason = "mismatch"
        index = self.kinds.get(kind).create(dim, metric)
        supplied = source()
        build(index, supplied.rows, total=supplied.total, progress=progress, batch_size=batch_size)
        return Opened(index, self.save(project, name, index, supplied.position), rebuilt=reason)

    @staticmethod
    def _prefix(project: str, name: str) -> str:
        for label, value in (("project", project), ("index name", name)):
            if not isinstance(value, str) or _NAME.fullmatch(value) is None:
                raise InvalidInput(f"A {label} here is 1-128 letters, digits, '.', '_' or '-'.",
                                   details={label: repr(value)[:100]})
        return validate_key(f"indexes/{project}/{name}") + "/"


def build(index: VectorIndex, rows: Iterable[tuple[str, Any]], *, total: int | None = None,
          progress: Progress | None = None, batch_size: int = 4096) -> int:
    """Add ``rows`` to ``index`` in batches (a graph inserts a batch on every core),
    reporting progress after each batch; how many were added."""
    done, ids, vectors = 0, [], []
    for id_, vector in rows:
        ids.append(id_)
        vectors.append(vector)
        if len(ids) >= batch_size:
            done += _flush(index, ids, vectors)
            if progress is not None:
                progress(done, total)
    done += _flush(index, ids, vectors)
    if progress is not None:
        progress(done, total)
    return done


def _flush(index: VectorIndex, ids: list[str], vectors: list[Any]) -> int:
    if not ids:
        return 0
    try:
        array = np.stack([np.asarray(v, dtype=np.float32) for v in vectors])
    except ValueError:
        raise InvalidInput("The vectors to index differ in size.",
                           code="wrong_vector_dimension") from None
    index.add(ids, array)
    count = len(ids)
    ids.clear()
    vectors.clear()
    return count
