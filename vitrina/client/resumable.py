"""Resumable uploads over tus 1.0 (``/v1/uploads``): a file sent in chunks, each one
checked by sha1, resumed from the server's offset after a dropped connection."""

from __future__ import annotations

import base64
import hashlib
import os
import time
from collections.abc import Callable
from typing import BinaryIO

import httpx

from vitrina.client.errors import ProtocolError, VitrinaAPIError, VitrinaConnectionError

TUS = {"Tus-Resumable": "1.0.0"}
CHUNK_TYPE = "application/offset+octet-stream"
#: files at least this large are uploaded resumably by :meth:`vitrina.client.Client.upload`
RESUMABLE_THRESHOLD = 32 * 1024 * 1024
#: bytes per PATCH
CHUNK_SIZE = 8 * 1024 * 1024
#: answers after which the client asks the server's offset and sends again
RETRIED = frozenset({"upload_offset_mismatch", "checksum_mismatch", "internal", "upload_incomplete"})
#: ``progress(sent, total)``, called after each acknowledged chunk
Progress = Callable[[int, int], None]


def size_of(fh: BinaryIO) -> int | None:
    """``fh``'s size when it can tell (a seekable file on disk can); uploads send a file
    from its start."""
    try:
        return os.fstat(fh.fileno()).st_size if fh.seekable() else None
    except (OSError, ValueError, AttributeError):
        return None


def metadata(**values: str | None) -> str:
    return ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in values.items() if v)


class ResumableUpload:
    """One tus upload of the ``total`` bytes of ``fh`` (seekable), through ``send``,
    a function that makes a request and raises the SDK's errors."""

    def __init__(self, send: Callable[..., httpx.Response], fh: BinaryIO, total: int, *,
                 filename: str | None, idempotency_key: str | None, chunk_size: int = CHUNK_SIZE,
                 retries: int = 3, retry_delay: float = 1.0, progress: Progress | None = None) -> None:
        if chunk_size < 1:
            raise ValueError("chunk_size must be at least 1 byte")
        self.send, self.fh, self.total = send, fh, total
        self.filename, self.idempotency_key = filename, idempotency_key
        self.chunk_size, self.retries, self.retry_delay = chunk_size, retries, retry_delay
        self.progress = progress
        self.url: str | None = None

    def run(self) -> tuple[str, bool]:
        """Send every byte; the asset id and whether it is new."""
        headers = {**TUS, "Upload-Length": str(self.total)}
        if meta := metadata(filename=self.filename):
            headers["Upload-Metadata"] = meta
        created = self.send("POST", "/v1/uploads", headers=headers)
        self.url = _path_of(created.headers.get("location"))
        offset, failures = 0, 0
        while True:
            try:
                answer = self._patch(offset)
            except (VitrinaConnectionError, _Retry) as exc:
                failures += 1
                if failures > self.retries:
                    raise exc.cause if isinstance(exc, _Retry) else exc
                time.sleep(self.retry_delay * failures)
                offset = self._offset()  # where the server is: what it acknowledged is kept
                continue
            failures = 0
            offset = int(answer.headers["upload-offset"])
            if self.progress is not None:
                self.progress(offset, self.total)
            if "vitrina-asset-id" in answer.headers:
                return answer.headers["vitrina-asset-id"], answer.headers.get("vitrina-asset-created") == "true"
            if offset >= self.total:
                raise ProtocolError("the server took every byte but named no asset; is it a Vitrina server?")

    def _patch(self, offset: int) -> httpx.Response:
        self.fh.seek(offset)
        chunk = self.fh.read(min(self.chunk_size, self.total - offset))
        headers = {**TUS, "Content-Type": CHUNK_TYPE, "Upload-Offset": str(offset),
                   "Upload-Checksum": "sha1 " + base64.b64encode(hashlib.sha1(chunk).digest()).decode()}
        if self.idempotency_key:
            headers["Idempotency-Key"] = self.idempotency_key
        try:
            return self.send("PATCH", self.url, content=chunk, headers=headers)
        except VitrinaAPIError as exc:
            if exc.code in RETRIED or exc.status in (502, 503, 504):
                raise _Retry(exc) from exc  # moved offset, corrupted chunk, server trouble: ask and retry
            raise

    def _offset(self) -> int:
        return int(self.send("HEAD", self.url, headers=TUS).headers["upload-offset"])


class _Retry(Exception):
    def __init__(self, cause: VitrinaAPIError) -> None:
        super().__init__(str(cause))
        self.cause = cause


def _path_of(location: str | None) -> str:
    if not location:
        raise ProtocolError("the server created an upload but sent no Location")
    path = httpx.URL(location).path
    if not path.startswith("/v1/uploads/"):
        raise ProtocolError(f"unexpected upload Location {location!r}")
    return path
