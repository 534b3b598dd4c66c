"""Result caching for image delivery: the cache key, where a result lives in the blob
store, and a small in-memory LRU of ready-to-send answers.

A result is a pure function of (original bytes, canonical ops, output format), plus
the stored focus for the gravities that read it and the render engine's version;
:func:`cache_key` hashes exactly that. The strong ``ETag`` is the key itself.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from dataclasses import dataclass

from vitrina.delivery.negotiate import accepted_types
from vitrina.delivery.ops import FORMAT_TOKENS

#: bump when the rendering of any op changes: every cached result becomes a miss
RENDER_VERSION = "1"
CACHE_PREFIX = "cache/img"


def cache_key(sha256: str, canonical_ops: str, fmt: str, focus_tag: str = "") -> str:
    """32 hex characters naming one result; ``focus_tag`` is ``producer@version`` of the
    focus a g_auto/g_face render used (``none`` without one), else empty. The format is
    written as URLs spell it (``jpg``), like the canonical ops: keys made before stay valid."""
    token = FORMAT_TOKENS.get(fmt, fmt)
    text = f"v{RENDER_VERSION}\n{sha256}\n{canonical_ops}\n{token}\n{focus_tag}"
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def results_prefix(sha256: str) -> str:
    """Where every stored result of one original sits (deleting the asset empties it)."""
    return f"{CACHE_PREFIX}/{sha256[:2]}/{sha256}/"


def blob_key(sha256: str, key: str, fmt: str) -> str:
    return f"{results_prefix(sha256)}{key}.{FORMAT_TOKENS.get(fmt, fmt)}"


@dataclass(frozen=True, slots=True)
class Prepared:
    """A 200 answer ready to send, and what decides whether it may still be sent."""

    body: bytes
    headers: list[tuple[bytes, bytes]]  # for 200 (and HEAD)
    not_modified: list[tuple[bytes, bytes]]  # for 304
    etag: bytes  # quoted, as sent
    key_id: str  # the URL's signing key id, "_" when unsigned
    valid_until: float  # wall clock: min(the URL's expiry, the asset record's TTL)
    project: str = ""  # whose usage a hit counts in


def etag_matches(if_none_match: bytes, etag: bytes) -> bool:
    """RFC 9110 weak comparison, as If-None-Match uses: ``*`` or any listed tag."""
    if if_none_match == etag:
        return True
    for tag in if_none_match.split(b","):
        tag = tag.strip()
        if tag == b"*" or tag.removeprefix(b"W/") == etag:
            return True
    return False


#: stored under a path whose answer depends on Accept: look under path + bucket instead
NEGOTIATED = Prepared(b"", [], [], b"", "", float("inf"))


def accept_bucket(accept: bytes | None) -> bytes:
    """The part of an Accept header that f_auto reads, as a key suffix: the first of
    AVIF and WebP it accepts (choose_format's order), or neither."""
    types = accepted_types(accept.decode("latin-1") if accept else None)
    found = next((f for f in ("avif", "webp") if f"image/{f}" in types), "")
    return b"\x00" + found.encode()


class MemoryCache:
    """An LRU of :class:`Prepared` by request path, within a byte budget.

    Used from the event loop only (no lock): a hit is one dict lookup and a move.
    """

    def __init__(self, max_bytes: int, max_item_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.max_item_bytes = min(max_item_bytes, max_bytes)
        self.size = 0
        self._items: OrderedDict[bytes, Prepared] = OrderedDict()
        self._buckets: dict[bytes | None, bytes] = {}

    def bucket(self, accept: bytes | None) -> bytes:
        """:func:`accept_bucket`, remembered: browsers send a handful of Accept headers."""
        found = self._buckets.get(accept)
        if found is None:
            if len(self._buckets) >= 512:
                self._buckets.clear()
            found = self._buckets[accept] = accept_bucket(accept)
        return found

    def get(self, key: bytes) -> Prepared | None:
        entry = self._items.get(key)
        if entry is not None:
            self._items.move_to_end(key)
        return entry

    def put(self, key: bytes, entry: Prepared) -> bool:
        """Keep ``entry`` unless it is over the item size; evicts the least recently used."""
        cost = _cost(key, entry)
        if len(entry.body) > self.max_item_bytes or cost > self.max_bytes:
            return False
        old = self._items.pop(key, None)
        if old is not None:
            self.size -= _cost(key, old)
        self._items[key] = entry
        self.size += cost
        while self.size > self.max_bytes:
            k, e = self._items.popitem(last=False)
            self.size -= _cost(k, e)
        return True

    def discard(self, key: bytes) -> None:
        old = self._items.pop(key, None)
        if old is not None:
            self.size -= _cost(key, old)

    def __len__(self) -> int:
        return len(self._items)


def _cost(key: bytes, entry: Prepared) -> int:
    return len(entry.body) + len(key) + 256  # headers and bookkeeping, roughly
