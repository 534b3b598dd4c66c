"""The bytes of a saved index: a magic line, a JSON header, the library's payload.

The header holds what the library does not know (the string ids, dimension, metric,
which kind wrote it), so a file can be checked before the payload is handed over.
"""

from __future__ import annotations

import json
import struct
from typing import Any

from vitrina.search.vectors import IndexUnreadable

MAGIC = b"VITRINA-VECTOR-INDEX/1\n"
_LENGTH = struct.Struct("<Q")


def pack(header: dict[str, Any], payload: bytes | bytearray | memoryview) -> bytes:
    head = json.dumps(header, separators=(",", ":")).encode()
    return b"".join((MAGIC, _LENGTH.pack(len(head)), head, bytes(payload)))


def unpack(data: bytes, kind: str) -> tuple[dict[str, Any], memoryview]:
    """The header and payload of an index of ``kind``; IndexUnreadable otherwise."""
    view = memoryview(data)
    start = len(MAGIC) + _LENGTH.size
    if len(view) < start or bytes(view[: len(MAGIC)]) != MAGIC:
        raise IndexUnreadable("The stored index is not a Vitrina vector index.")
    (length,) = _LENGTH.unpack_from(view, len(MAGIC))
    if start + length > len(view):
        raise IndexUnreadable("The stored index is truncated.", details={"bytes": len(view)})
    try:
        header = json.loads(bytes(view[start : start + length]))
    except ValueError:
        raise IndexUnreadable("The stored index has an unreadable header.") from None
    if not isinstance(header, dict) or header.get("kind") != kind:
        raise IndexUnreadable(f"The stored index is not of kind {kind!r}.",
                              details={"kind": repr(header.get("kind") if isinstance(header, dict) else None)})
    return header, view[start + length :]
