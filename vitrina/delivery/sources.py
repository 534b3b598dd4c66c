"""What serving needs to know about an asset, and the projects' URL signing keys, read
from the catalog and kept for a short time (a TTL) so that hot URLs never touch the
database.

A process trusts a record for ``ttl`` seconds: an asset deleted meanwhile may still
be served from this process for that long (documented with the setting). It trusts
the set of project signing keys for ``delivery.signing_keys_ttl_seconds``: a revoked
key stops working within that time, a new one starts within it (or within a second,
when a URL names a key id the process does not know yet).
"""

from __future__ import annotations

import logging
import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import partial
from typing import Any

from vitrina.assets.repository import AssetRepository
from vitrina.delivery.signing import Signer
from vitrina.errors import NotFound, VitrinaError
from vitrina.media.focus import Focus
from vitrina.media.source import Source, read_header
from vitrina.media.transform import Proxy
from vitrina.projects.service import SigningKey
from vitrina.storage.blobs import BlobStore

log = logging.getLogger("vitrina.delivery")
MAX_RECORDS = 100_000


@dataclass(frozen=True)
class SourceRecord:
    asset_id: str
    sha256: str
    blob_key: str
    width: int | None  # upright; None until probed
    height: int | None
    has_alpha: bool
    format: str | None  # as probe names it: jpeg, png, webp, ...
    focus: Focus | None
    focus_tag: str  # "producer@version" of the stored focus, "none" without one
    loaded_at: float  # wall clock
    #: (width, height, blob key) of the JPEG derivatives: smaller stand-ins for the original
    renditions: tuple[tuple[int, int, str], ...] = ()
    #: the asset's project: only URLs signed with one of its keys are served
    project_id: str = ""

    @property
    def size(self) -> tuple[int, int] | None:
        return None if self.width is None or self.height is None else (self.width, self.height)


class AssetSources:
    """asset id -> :class:`SourceRecord` (or None: no such image), cached for ``ttl`` s.

    :meth:`fresh` and :meth:`remember` never block (call them on the event loop);
    :meth:`read` reads the catalog (call it in a thread).
    """

    def __init__(
        self,
        assets: AssetRepository,
        store: BlobStore,
        ttl: float,
        clock: Callable[[], float] = time.time,
        kinds: frozenset[str] = frozenset(),
    ) -> None:
        #: ``kinds`` are the media kinds whose originals can be transformed
        self.assets, self.kinds = assets, kinds
        self.store, self.ttl, self.clock = store, ttl, clock
        self._records: OrderedDict[str, tuple[float, SourceRecord | None]] = OrderedDict()

    def fresh(self, asset_id: str) -> tuple[bool, SourceRecord | None]:
        """(known, record): ``known`` is False when the catalog must be read again."""
        hit = self._records.get(asset_id)
        if hit is None or self.clock() >= hit[0] + self.ttl:
            return False, None
        return True, hit[1]

    def read(self, asset_id: str) -> SourceRecord | None:
        """The catalog's answer now (blocking: call it in a thread); see :meth:`remember`."""
        loaded_at = self.clock()
        facts = self.assets.source_facts(asset_id)
        if facts is None or facts.kind not in self.kinds:
            return None
        record = self._record(asset_id, facts, facts.focus, loaded_at)
        return replace(record, renditions=facts.renditions, project_id=facts.project_id)

    def remember(self, asset_id: str, record: SourceRecord | None) -> None:
        """Keep what :meth:`read` found (from the event loop: one writer, no lock)."""
        self._records[asset_id] = (record.loaded_at if record else self.clock(), record)
        self._records.move_to_end(asset_id)
        while len(self._records) > MAX_RECORDS:
            self._records.popitem(last=False)

    def forget(self, asset_id: str) -> None:
        self._records.pop(asset_id, None)

    def open(self, record: SourceRecord) -> Source:
        """The original for libvips: its file when the store is local, else its bytes."""
        return self._open(record.asset_id, record.blob_key)

    def proxies(self, record: SourceRecord) -> tuple[Proxy, ...]:
        """The asset's derivatives as stand-ins for the original (opaque images only:
        JPEG renditions have lost any alpha)."""
        if record.has_alpha:
            return ()
        return tuple(Proxy(w, h, partial(self._open, record.asset_id, key))
                     for w, h, key in record.renditions)

    def _open(self, asset_id: str, blob_key: str) -> Source:
        try:
            path = self.store.local_path(blob_key)
            return path if path is not None else self.store.read_bytes(blob_key)
        except NotFound:
            raise NotFound("No image has this id.", details={"asset_id": asset_id}) from None

    def _record(self, asset_id: str, row: Any, signal: Any, loaded_at: float) -> SourceRecord:
        meta = row.meta or {}
        width, height = row.width, row.height
        if "has_alpha" in meta:
            has_alpha = bool(meta["has_alpha"])
        else:  # not probed yet: the header says
            header = read_header(self._open(asset_id, row.blob_key))
            has_alpha, width, height = header.has_alpha, header.width, header.height
        focus, tag = None, "none"
        if signal is not None:
            try:
                focus, tag = Focus.from_dict(signal.value), f"{signal.producer}@{signal.version}"
            except VitrinaError:
                log.warning("asset %s has a malformed focus signal; serving without it", asset_id)
        fmt = meta.get("format") or row.mime.rpartition("/")[2]
        return SourceRecord(asset_id, row.sha256, row.blob_key, width, height, has_alpha, fmt,
                            focus, tag, loaded_at)  # fmt: skip


#: how soon a key id the process does not know makes it read the keys again (s)
UNKNOWN_KEY_RETRY = 1.0


@dataclass(frozen=True)
class KeySet:
    """The projects' active signing keys as read at ``loaded_at`` (wall clock)."""

    signer: Signer | None  # verifies with every key below; None without any
    projects: dict[str, str]  # key id -> its project
    loaded_at: float


class ProjectKeys:
    """The projects' URL signing keys (not the settings' keys), kept for ``ttl`` s.

    :meth:`fresh` never blocks; :meth:`read` reads the catalog (call it in a thread);
    :meth:`remember` keeps what it read (from the event loop: one writer, no lock).
    Key ids in ``reserved`` (the settings' keys) are never taken from the catalog.
    """

    def __init__(
        self,
        load: Callable[[], list[SigningKey]],
        ttl: float,
        clock: Callable[[], float] = time.time,
        reserved: frozenset[str] = frozenset(),
    ) -> None:
        self.load, self.ttl, self.clock, self.reserved = load, ttl, clock, reserved
        self.current = KeySet(None, {}, -math.inf)

    def fresh(self, key_id: str) -> bool:
        """Whether the keys in hand may answer for ``key_id`` without a read: they are
        younger than the TTL and, if they lack it, younger than UNKNOWN_KEY_RETRY."""
        age = self.clock() - self.current.loaded_at
        if age >= self.ttl:
            return False
        return key_id in self.current.projects or age < min(self.ttl, UNKNOWN_KEY_RETRY)

    def read(self) -> KeySet:
        """The catalog's active keys now (blocking: call it in a thread); a malformed one
        is left out."""
        loaded_at = self.clock()
        secrets: dict[str, str] = {}
        projects: dict[str, str] = {}
        for key in self.load():
            if key.id in self.reserved:
                log.warning("project %s's signing key %s has the id of a key in the settings, "
                            "which wins; revoke it and make another", key.project_id, key.id)
                continue
            try:
                Signer({key.id: key.secret})  # its id and length are checked
            except VitrinaError as exc:
                log.warning("project %s's signing key %s is unusable: %s", key.project_id, key.id,
                            exc.message)
                continue
            secrets[key.id], projects[key.id] = key.secret, key.project_id
        return KeySet(Signer(secrets) if secrets else None, projects, loaded_at)

    def remember(self, keys: KeySet) -> None:
        if keys.loaded_at >= self.current.loaded_at:
            self.current = keys
