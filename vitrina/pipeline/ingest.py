"""Ingest: stream bytes in, decide what they are, store them once, queue their work.

Nothing is written to the catalog or the blob store until the bytes passed every
check, so bad input changes nothing. The same bytes uploaded twice, even at the
same moment, give one asset (sha256 is unique in the catalog).
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from sqlalchemy.exc import IntegrityError

from vitrina.errors import Conflict, InvalidKey, PayloadTooLarge
from vitrina.ids import new_id
from vitrina.kinds import kind_of
from vitrina.media.sniff import SNIFF_BYTES
from vitrina.pipeline.queue import enqueue
from vitrina.storage.blobs import content_key
from vitrina.storage.catalog.db import transaction
from vitrina.storage.catalog.projects import DEFAULT_PROJECT

if TYPE_CHECKING:
    from vitrina.runtime import Runtime


IDEMPOTENCY_KEY = re.compile(r"^[A-Za-z0-9_.:\-]{1,255}$")
CHUNK = 1 << 20
#: how long an upload's pin keeps collectors off its original (bytes written, asset not yet)
PIN = timedelta(hours=1)


@dataclass(frozen=True)
class IngestResult:
    asset_id: str
    created: bool


class StagedFile:
    """An upload being written to a temp file: hashed, counted and capped as it streams."""

    def __init__(self, path: Path, fh: BinaryIO, max_bytes: int) -> None:
        self.path, self.fh, self.max_bytes = path, fh, max_bytes
        self.size = 0
        self.head = b""
        self._sha = hashlib.sha256()

    def write(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self.size > self.max_bytes:
            raise PayloadTooLarge(
                f"upload is over the limit of {self.max_bytes} bytes",
                details={"limit_bytes": self.max_bytes},
            )
        if len(self.head) < SNIFF_BYTES:
            self.head += chunk[: SNIFF_BYTES - len(self.head)]
        self._sha.update(chunk)
        self.fh.write(chunk)

    @property
    def sha256(self) -> str:
        return self._sha.hexdigest()


def safe_filename(name: str | None) -> str | None:
    """A display name only (storage never uses it), but refuse anything path-like."""
    if name is None or name == "":
        return None
    if "\x00" in name or any("\ud800" <= c <= "\udfff" for c in name):
        # no catalog stores these: NUL, and lone surrogates (bytes that were not UTF-8)
        raise InvalidKey("file name must be UTF-8 text without NUL characters",
                         code="invalid_text", details={"filename": name[:255].encode(
                             "utf-8", "backslashreplace").decode("ascii", "replace")})
    if (
        len(name) > 255
        or name in {".", ".."}
        or any(c in name for c in "/\\")
        or any(ord(c) < 32 for c in name)
    ):
        raise InvalidKey(
            "file name must be a plain name without path separators or control characters",
            code="invalid_filename",
            details={"filename": name[:255]},
        )
    return name


class Ingestor:
    def __init__(self, runtime: Runtime, on_new_work: Callable[[], None] | None = None) -> None:
        self.rt = runtime
        self.on_new_work = on_new_work

    @contextmanager
    def stage(self, declared_size: int | None = None, *,
              project: str = DEFAULT_PROJECT) -> Iterator[StagedFile]:
        """A temp file for an upload to ``project``; refuses first (before any byte is
        read) an upload over the size limit, over the project's upload rate, or whose
        declared size cannot fit in the project's stored-bytes quota."""
        limit = self.rt.settings.ingest.max_upload_bytes
        if declared_size is not None and declared_size > limit:
            raise PayloadTooLarge(f"upload is over the limit of {limit} bytes", details={"limit_bytes": limit})
        self.rt.quotas.take_upload(project)
        self.rt.quotas.check_declared(project, declared_size)
        with self.rt.store.new_temp() as (path, fh):
            yield StagedFile(path, fh, limit)

    def ingest_file(self, path: Path, *, project: str = DEFAULT_PROJECT, filename: str | None = None,
                    idempotency_key: str | None = None) -> IngestResult:
        with open(path, "rb") as src, self.stage(path.stat().st_size, project=project) as staged:
            while chunk := src.read(CHUNK):
                staged.write(chunk)
            return self.commit(staged, project=project, filename=filename or path.name,
                               idempotency_key=idempotency_key)

    def commit(self, staged: StagedFile, *, project: str, filename: str | None,
               idempotency_key: str | None) -> IngestResult:
        filename = safe_filename(filename)
        if idempotency_key is not None and not IDEMPOTENCY_KEY.match(idempotency_key):
            raise InvalidKey("Idempotency-Key must be 1-255 characters of A-Z a-z 0-9 _ . : -",
                             code="invalid_idempotency_key")
        staged.fh.flush()
        kind, media = kind_of(self.rt.registries.kinds, staged.head)
        steps = self.rt.pipelines.steps(kind.name)
        started = time.perf_counter()
        facts = kind.validate(staged.path, media, self.rt.settings)
        probe_ms = (time.perf_counter() - started) * 1000

        known = self._existing(project, staged.sha256, idempotency_key)
        if known is not None:
            return known
        quotas = self.rt.quotas
        limits_storage = quotas.limits(project).limits_storage  # cached: no query when unlimited
        if limits_storage:
            quotas.check_storage(project, staged.size)  # early, so a refusal usually writes nothing
        blob_key = content_key("originals", staged.sha256)
        # pin the original before writing its bytes, so that no collector removes them
        # between now and the asset that references them (decision 010)
        now = datetime.now(UTC)
        pinned_until = now + PIN
        assets = self.rt.asset_repository
        assets.pin_original(staged.sha256, size_bytes=staged.size, mime=media.mime, blob_key=blob_key,
                            now=now, until=pinned_until)
        # content-addressed: bytes another project (or a racing twin) stored are these bytes,
        # and the pin keeps them; only a first upload writes them
        if not self.rt.store.exists(blob_key):
            self.rt.store.put_file(blob_key, staged.path)
        asset_id = new_id()
        # validation probed the file already: record it as the probe step's result
        done = {kind.probe_step: probe_ms} if facts is not None and kind.probe_step else None
        probed = {"width": facts.width, "height": facts.height, "meta": facts.meta} if facts else {}
        try:
            with transaction(self.rt.sessions) as s:
                if limits_storage:  # exact: holds the project's row until the asset is in
                    quotas.check_storage(project, staged.size, session=s)
                assets.insert_asset(
                    s, project=project, asset_id=asset_id, sha256=staged.sha256, kind=kind.name,
                    mime=media.mime, filename=filename, size_bytes=staged.size,
                    pinned_until=pinned_until, idempotency_key=idempotency_key or None, **probed)
                enqueue(s, asset_id, steps, done=done)
        except IntegrityError:
            # Lost a race with the same bytes (or the same key): the winner's asset stands.
            known = self._existing(project, staged.sha256, idempotency_key)
            if known is None:
                raise
            return known
        if self.on_new_work:
            self.on_new_work()
        return IngestResult(asset_id, True)

    def _existing(self, project: str, sha256: str, idempotency_key: str | None) -> IngestResult | None:
        assets = self.rt.asset_repository
        if idempotency_key:
            prior = assets.idempotency(project, idempotency_key)
            if prior is not None:
                if prior.sha256 != sha256:
                    raise Conflict("this Idempotency-Key was used for different content",
                                   code="idempotency_key_reused")
                return IngestResult(prior.asset_id, False)
        asset_id = assets.find_by_sha256(project, sha256)
        if asset_id is None:
            return None
        if idempotency_key:
            assets.record_idempotency(project, idempotency_key, sha256, asset_id)  # False: a retry did it
        return IngestResult(asset_id, False)
