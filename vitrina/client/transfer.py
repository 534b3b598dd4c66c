"""Moving bytes: opening upload sources, byte ranges, streaming downloads to a destination."""

from __future__ import annotations

import hashlib
import os
import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

import httpx

from vitrina.client.errors import IntegrityError

Source = str | Path | BinaryIO
Destination = str | Path | BinaryIO

_CONTENT_RANGE = re.compile(r"^bytes (\d+)-(\d+)/(\d+|\*)$")
_SHA256_ETAG = re.compile(r'^"([0-9a-f]{64})"$')


@contextmanager
def open_source(file: Source) -> Iterator[tuple[BinaryIO, str | None]]:
    """A binary file object to stream from, and the file name to send by default."""
    if isinstance(file, (str, Path)):
        path = Path(file)
        with path.open("rb") as fh:
            yield fh, path.name
        return
    name = getattr(file, "name", None)
    yield file, Path(name).name if isinstance(name, str) and name else None


def range_header(start: int | None, end: int | None) -> str | None:
    """``Range`` for bytes ``[start, end)`` (Python slice semantics; None = open side)."""
    if start is None and end is None:
        return None
    first = 0 if start is None else start
    if first < 0 or (end is not None and end <= first):
        raise ValueError(f"need 0 <= start < end, got start={start}, end={end}")
    return f"bytes={first}-" if end is None else f"bytes={first}-{end - 1}"


def body_chunks(response: httpx.Response, start: int | None, end: int | None) -> Iterator[bytes]:
    """The bytes asked for, checked: a 206 must start where asked, a whole 200 must match its hash."""
    if start is None and end is None:
        yield from _checked_whole(response)
        return
    first = start or 0
    if response.status_code == 206:
        m = _CONTENT_RANGE.match(response.headers.get("content-range", ""))
        if m is None or int(m.group(1)) != first:
            raise IntegrityError(f"asked for bytes from {first}, the server sent "
                                 f"{response.headers.get('content-range')!r}")
        yield from response.iter_bytes()
        return
    # the server (or a proxy) ignored Range and sent everything: keep the window ourselves
    pos = 0
    for chunk in response.iter_bytes():
        lo, hi = pos, pos + len(chunk)
        pos = hi
        if end is not None and lo >= end:
            break
        piece = chunk[max(first - lo, 0):len(chunk) if end is None else max(end - lo, 0)]
        if piece:
            yield piece


def _checked_whole(response: httpx.Response) -> Iterator[bytes]:
    m = _SHA256_ETAG.match(response.headers.get("etag", ""))
    digest = hashlib.sha256() if m else None
    for chunk in response.iter_bytes():
        if digest is not None:
            digest.update(chunk)
        yield chunk
    if digest is not None and m is not None and digest.hexdigest() != m.group(1):
        raise IntegrityError(f"downloaded bytes from {response.request.url} do not match their "
                             "sha256: the transfer was corrupted or cut short; download again")


def save(chunks: Iterator[bytes], dest: Destination | None) -> bytes | None:
    """Collect into bytes (dest None), write to a file object, or atomically to a path."""
    if dest is None:
        return b"".join(chunks)
    if isinstance(dest, (str, Path)):
        _save_atomically(chunks, Path(dest))
        return None
    for chunk in chunks:
        dest.write(chunk)
    return None


def _save_atomically(chunks: Iterator[bytes], path: Path) -> None:
    # a failed download never leaves a partial file under the final name
    part = path.with_name(f".{path.name}.{secrets.token_hex(4)}.part")
    try:
        with part.open("wb") as fh:
            for chunk in chunks:
                fh.write(chunk)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(part, path)
    except BaseException:
        part.unlink(missing_ok=True)
        raise
