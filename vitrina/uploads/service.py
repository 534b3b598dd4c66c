"""Resumable uploads: state in the catalog, acknowledged bytes in the blob store.

Each accepted chunk is written to a staged file, checked against its checksum, stored
durably as the blob ``uploads/<id>/<start>-<token>`` and only then recorded in the
catalog, in the same transaction that moves the upload's offset (decision 017). So an
offset the server answered is always backed by stored bytes, a restart finds every
upload where it was, and two writers racing for one offset end with one chunk (the
chunk's primary key) while the loser's blob is removed. When the last byte arrives
the chunks are joined into an ingest staged file and go through
:meth:`vitrina.pipeline.ingest.Ingestor.commit`, like a multipart upload.
"""

from __future__ import annotations

import hmac
import logging
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from vitrina.errors import NotFound, PayloadTooLarge, VitrinaError
from vitrina.ids import is_id, new_id
from vitrina.pipeline.ingest import IngestResult, safe_filename
from vitrina.storage.catalog.db import transaction
from vitrina.storage.catalog.uploads import UploadChunkRow, UploadRow
from vitrina.uploads.protocol import Checksum, ChecksumMismatch, OffsetMismatch, UploadGone

if TYPE_CHECKING:
    from vitrina.runtime import Runtime

log = logging.getLogger("vitrina.uploads")

#: how long an upload lives after its last chunk (``Upload-Expires``)
UPLOAD_TTL = timedelta(hours=24)
#: the blob-store namespace of upload chunks
PREFIX = "uploads"
READ_CHUNK = 1 << 20


@dataclass(frozen=True)
class Upload:
    id: str
    project_id: str
    length: int
    offset: int
    filename: str | None
    meta: dict[str, str]
    expires_at: datetime

    @property
    def complete(self) -> bool:
        return self.offset == self.length


@dataclass(frozen=True)
class Appended:
    """The upload after a chunk, and the asset it became when that was its last byte."""

    upload: Upload
    asset: IngestResult | None = None


class ChunkWriter:
    """A chunk's bytes on their way to a staged file, counted and hashed as they arrive."""

    def __init__(self, path: Path, fh: BinaryIO, checksum: Checksum | None, room: int) -> None:
        self.path, self.fh, self.checksum, self.room = path, fh, checksum, room
        self.size = 0
        self._hash = checksum.hasher() if checksum else None

    def write(self, data: bytes) -> None:
        self.size += len(data)
        if self.size > self.room:
            raise PayloadTooLarge("the chunk goes past the upload's declared Upload-Length",
                                  code="upload_length_exceeded", details={"room": self.room})
        if self._hash is not None:
            self._hash.update(data)
        self.fh.write(data)

    def verify(self) -> None:
        if self.checksum is not None and not hmac.compare_digest(self._hash.digest(), self.checksum.digest):
            raise ChecksumMismatch("the chunk does not match its Upload-Checksum; it was discarded",
                                   details={"algorithm": self.checksum.algorithm})


class UploadService:
    def __init__(self, runtime: Runtime, ttl: timedelta = UPLOAD_TTL) -> None:
        self.rt, self.ttl = runtime, ttl

    # -- creation, reading, termination -------------------------------------------------

    def create(self, project: str, length: int, meta: dict[str, str]) -> Upload:
        """A new upload of ``length`` bytes; over ``ingest.max_upload_bytes`` (or a
        project's stored-bytes quota) it is refused before anything is stored."""
        limit = self.rt.settings.ingest.max_upload_bytes
        if length > limit:
            raise PayloadTooLarge(f"upload is over the limit of {limit} bytes", details={"limit_bytes": limit})
        self.rt.quotas.check_declared(project, length)
        filename = safe_filename(meta.get("filename"))
        now = datetime.now(UTC)
        row = UploadRow(id=new_id(), project_id=project, length=length, received=0, filename=filename,
                        meta=meta, created_at=now, expires_at=now + self.ttl)
        with transaction(self.rt.sessions) as s:
            s.add(row)
            return _upload(row)

    def get(self, project: str, upload_id: str) -> Upload:
        """The upload; NotFound when missing or another project's, UploadGone once expired."""
        with self.rt.sessions() as s:
            row = s.get(UploadRow, upload_id) if is_id(upload_id) else None
            if row is None or row.project_id != project:
                raise NotFound("no such upload", code="upload_not_found")
            upload = _upload(row)
        if upload.expires_at <= datetime.now(UTC):
            raise UploadGone("this upload expired", details={"expired_at": upload.expires_at.isoformat()})
        return upload

    def terminate(self, project: str, upload_id: str) -> None:
        """Remove the upload and its bytes (an expired one too)."""
        try:
            self.get(project, upload_id)
        except UploadGone:
            pass
        self._remove(upload_id)

    def discard(self, upload_id: str) -> None:
        """Remove the upload and its bytes, if it is still there."""
        self._remove(upload_id)

    # -- chunks ------------------------------------------------------------------------

    @contextmanager
    def chunk_writer(self, upload: Upload, checksum: Checksum | None) -> Iterator[ChunkWriter]:
        """A :class:`ChunkWriter` for ``upload``'s next chunk, staged in the store's temp area."""
        with self.rt.store.new_temp() as (path, fh):
            yield ChunkWriter(path, fh, checksum, upload.length - upload.offset)

    def append(self, project: str, upload_id: str, offset: int, chunk: ChunkWriter,
               idempotency_key: str | None = None) -> Appended:
        """Record ``chunk`` at ``offset`` (checked, stored durably, then acknowledged);
        after the last byte, ingest the whole upload."""
        upload = self.get(project, upload_id)
        if offset != upload.offset:
            raise OffsetMismatch("Upload-Offset is not the upload's offset: ask with HEAD",
                                 details={"offset": upload.offset})
        chunk.verify()
        if chunk.size:
            end = offset + chunk.size
            key = f"{PREFIX}/{upload_id}/{offset:016d}-{secrets.token_hex(4)}"
            chunk.fh.flush()
            self.rt.store.put_file(key, chunk.path)  # durable: fsynced (or in S3) before the catalog says so
            try:
                with transaction(self.rt.sessions) as s:
                    moved = s.execute(update(UploadRow).where(UploadRow.id == upload_id,
                                                              UploadRow.received == offset)
                                      .values(received=end, expires_at=datetime.now(UTC) + self.ttl))
                    if moved.rowcount != 1:
                        raise OffsetMismatch("another request moved this upload's offset: ask with HEAD")
                    s.add(UploadChunkRow(upload_id=upload_id, start=offset, size=chunk.size, blob_key=key))
            except (VitrinaError, IntegrityError) as exc:
                self.rt.store.delete(key)
                if isinstance(exc, IntegrityError):
                    raise OffsetMismatch("another request moved this upload's offset: ask with HEAD") from None
                raise
            upload = self.get(project, upload_id)
        if not upload.complete:
            return Appended(upload)
        return Appended(upload, self._finish(upload, idempotency_key))

    def _finish(self, upload: Upload, idempotency_key: str | None) -> IngestResult:
        """Join the chunks and ingest them; the upload goes whether the file is taken or
        refused (a 4xx); a server fault keeps it, so an empty PATCH at its end retries."""
        ingestor = self.rt.ingestor
        try:
            with ingestor.stage(upload.length, project=upload.project_id) as staged:
                for key in self._chunk_keys(upload):
                    for data in self.rt.store.open_range(key, chunk_size=READ_CHUNK):
                        staged.write(data)
                if staged.size != upload.length:
                    raise VitrinaError("the upload's chunks do not add up to its length",
                                       code="upload_incomplete", status=500)
                result = ingestor.commit(staged, project=upload.project_id, filename=upload.filename,
                                         idempotency_key=idempotency_key)
        except VitrinaError as exc:
            if exc.status < 500:
                self._remove(upload.id)
            raise
        self._remove(upload.id)
        return result

    def _chunk_keys(self, upload: Upload) -> list[str]:
        with self.rt.sessions() as s:
            rows = s.execute(select(UploadChunkRow.start, UploadChunkRow.size, UploadChunkRow.blob_key)
                             .where(UploadChunkRow.upload_id == upload.id)
                             .order_by(UploadChunkRow.start)).all()
        expected = 0
        for start, size, _ in rows:
            if start != expected:
                raise VitrinaError("the upload's chunks have a gap", code="upload_incomplete", status=500)
            expected += size
        return [key for _, _, key in rows]

    # -- removal -------------------------------------------------------------------------

    def _remove(self, upload_id: str) -> None:
        """Catalog first, then the bytes: a crash in between leaves only blobs that the
        sweep of an idle worker removes."""
        with transaction(self.rt.sessions) as s:
            s.execute(delete(UploadChunkRow).where(UploadChunkRow.upload_id == upload_id))
            s.execute(delete(UploadRow).where(UploadRow.id == upload_id))
        for key in list(self.rt.store.keys(f"{PREFIX}/{upload_id}/")):
            self.rt.store.delete(key)

    def sweep_expired(self, limit: int = 100) -> int:
        """Remove expired uploads and their bytes; how many went."""
        with self.rt.sessions() as s:
            ids = s.scalars(select(UploadRow.id).where(UploadRow.expires_at <= datetime.now(UTC))
                            .limit(limit)).all()
        for upload_id in ids:
            self._remove(upload_id)
        return len(ids) + self._sweep_orphans()

    def _sweep_orphans(self) -> int:
        """Remove the bytes of uploads whose row is gone (a removal cut short). A row is
        written before any of its chunks, so bytes without one are never a live upload's."""
        by_upload: dict[str, list[str]] = {}
        for key in self.rt.store.keys(f"{PREFIX}/"):
            by_upload.setdefault(key.split("/")[1], []).append(key)
        if not by_upload:
            return 0
        with self.rt.sessions() as s:
            live = set(s.scalars(select(UploadRow.id).where(UploadRow.id.in_(list(by_upload)))))
        orphans = [upload_id for upload_id in by_upload if upload_id not in live]
        for upload_id in orphans:
            for key in by_upload[upload_id]:
                self.rt.store.delete(key)
        return len(orphans)


def _upload(row: UploadRow) -> Upload:
    expires = row.expires_at if row.expires_at.tzinfo else row.expires_at.replace(tzinfo=UTC)
    return Upload(row.id, row.project_id, row.length, row.received, row.filename, dict(row.meta or {}), expires)
