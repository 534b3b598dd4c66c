"""An asset's files as the playback route sees them: its derivative rows, by their path
under ``derivatives/{asset_id}/``, read from the catalog and kept for a short time (a
TTL), so a player's hundreds of segment requests cost one query per asset and process.

A file the kept copy lacks makes the process read again once the copy is a second old
(a rung or a storyboard written meanwhile is served within a second); a deleted asset
may be served from a process for the TTL, as its images are.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session, sessionmaker

from vitrina.storage.catalog.models import Asset, Derivative

MAX_ASSETS = 10_000
#: how soon a file the kept copy lacks makes the process read the catalog again (s)
UNKNOWN_FILE_RETRY = 1.0
VIDEO = "video"

_FILES = (select(Asset.project_id, Asset.kind, Derivative.blob_key, Derivative.size_bytes,
                 Derivative.version, Derivative.created_at)
          .outerjoin(Derivative, Derivative.asset_id == Asset.id)
          .where(Asset.id == bindparam("p_asset")))


@dataclass(frozen=True)
class StoredFile:
    blob_key: str
    size: int
    etag: str  # strong, quoted: a blob is immutable per key, version and write


@dataclass(frozen=True)
class AssetFiles:
    project_id: str
    files: Mapping[str, StoredFile]  # path under derivatives/{asset_id}/ -> file
    loaded_at: float


class PlaybackFiles:
    """asset id -> :class:`AssetFiles` of a video (None: no such video), kept ``ttl`` s.
    :meth:`get` reads the catalog when needed: call it in a thread."""

    def __init__(self, sessions: sessionmaker[Session], ttl: float,
                 clock: Callable[[], float] = time.time) -> None:
        self.sessions, self.ttl, self.clock = sessions, ttl, clock
        self._kept: OrderedDict[str, AssetFiles | None] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, asset_id: str, path: str) -> AssetFiles | None:
        """The asset's files, read again when the copy is older than the TTL, or older
        than :data:`UNKNOWN_FILE_RETRY` and lacking ``path``."""
        now = self.clock()
        with self._lock:
            found = self._kept.get(asset_id)
        if found is not None:
            age = now - found.loaded_at
            if age < self.ttl and (path in found.files or age < min(self.ttl, UNKNOWN_FILE_RETRY)):
                return found
        found = self.read(asset_id)
        with self._lock:
            self._kept[asset_id] = found
            self._kept.move_to_end(asset_id)
            while len(self._kept) > MAX_ASSETS:
                self._kept.popitem(last=False)
        return found

    def read(self, asset_id: str) -> AssetFiles | None:
        """The catalog's answer now; None unless the asset is a video."""
        loaded_at = self.clock()
        with self.sessions() as s:
            rows = s.execute(_FILES, {"p_asset": asset_id}).all()
        if not rows or rows[0].kind != VIDEO:
            return None
        prefix = f"derivatives/{asset_id}/"
        files = {r.blob_key[len(prefix):]: StoredFile(r.blob_key, int(r.size_bytes), _etag(r))
                 for r in rows if r.blob_key is not None and r.blob_key.startswith(prefix)}
        return AssetFiles(rows[0].project_id, files, loaded_at)


def _etag(row) -> str:
    """A re-run of a step rewrites its blobs under the same keys: its new row's time
    changes the tag, so no client joins an old playlist to a new segment's bytes."""
    made = f"{row.blob_key}\n{row.version}\n{row.size_bytes}\n{row.created_at.isoformat()}"
    return '"' + hashlib.sha256(made.encode()).hexdigest()[:32] + '"'
