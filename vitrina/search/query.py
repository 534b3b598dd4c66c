"""A search as the service takes it: text, colour, filters and a page, checked once,
with a 400 and a stable code for anything out of bounds (decision 027)."""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time

from vitrina.assets.metadata import normalise_tag
from vitrina.errors import InvalidInput
from vitrina.search import colour
from vitrina.search.catalogue import Filters

MAX_QUERY = 500
MAX_LIMIT = 100
#: the assets one search ranks at most (the newest that pass the filters)
MAX_CANDIDATES = 20_000


@dataclass(frozen=True)
class SearchQuery:
    q: str = ""
    color: str | None = None  # "#rrggbb"
    color_tolerance: float = colour.DEFAULT_TOLERANCE
    filters: Filters = field(default_factory=Filters)
    limit: int = 20
    offset: int = 0

    def fingerprint(self) -> str:
        """What a cursor is bound to: the same query and filters (not the page)."""
        f = self.filters
        parts = [self.q, self.color, self.color_tolerance, f.kind, f.tag, f.collection, f.min_width,
                 f.max_width, f.min_height, f.max_height,
                 *(None if d is None else d.isoformat() for d in (f.created_after, f.created_before))]
        return hashlib.sha256(json.dumps(parts).encode()).hexdigest()[:16]


def parse_query(*, q: str | None = None, color: str | None = None, color_tolerance: float | None = None,
                kind: str | None = None, tag: str | None = None, collection: str | None = None,
                min_width: int | None = None, max_width: int | None = None,
                min_height: int | None = None, max_height: int | None = None,
                created_after: str | None = None, created_before: str | None = None,
                limit: int = 20, cursor: str | None = None) -> SearchQuery:
    """A checked query, or a 400 with a stable code: ``query_too_long``, ``invalid_color``,
    ``invalid_date``, ``invalid_range``, ``invalid_limit``, ``invalid_cursor``."""
    q = (q or "").strip()
    if len(q) > MAX_QUERY:
        raise InvalidInput(f"q is at most {MAX_QUERY} characters.", code="query_too_long",
                           details={"length": len(q), "max": MAX_QUERY})
    hex_ = colour.parse_hex(color) if color not in (None, "") else None
    tolerance = colour.DEFAULT_TOLERANCE if color_tolerance is None else color_tolerance
    if not colour.MIN_TOLERANCE <= tolerance <= colour.MAX_TOLERANCE:
        raise InvalidInput(f"color_tolerance is a ΔE from {colour.MIN_TOLERANCE:g} to {colour.MAX_TOLERANCE:g}.",
                           code="invalid_color", details={"color_tolerance": tolerance})
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(f"limit must be between 1 and {MAX_LIMIT}.", code="invalid_limit",
                           details={"limit": repr(limit)[:20]})
    for name, value in (("min_width", min_width), ("max_width", max_width),
                        ("min_height", min_height), ("max_height", max_height)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 10**9):
            raise InvalidInput(f"{name} is a number of pixels from 0 to 10^9.", code="invalid_range",
                               details={"field": name})
    after, before = _date("created_after", created_after), _date("created_before", created_before)
    for low, high, names in ((min_width, max_width, "min_width > max_width"),
                             (min_height, max_height, "min_height > max_height"),
                             (after, before, "created_after > created_before")):
        if low is not None and high is not None and low > high:
            raise InvalidInput(f"Empty range: {names}.", code="invalid_range", details={"range": names})
    try:
        tag_ = None if tag in (None, "") else normalise_tag(tag)
    except (InvalidInput, TypeError, ValueError):
        raise InvalidInput("tag is 1 to 64 characters.", code="invalid_tag", details={"tag": str(tag)[:80]}) from None
    filters = Filters(kind=kind or None, tag=tag_, collection=collection or None,
                      min_width=min_width, max_width=max_width, min_height=min_height, max_height=max_height,
                      created_after=after, created_before=before)
    query = SearchQuery(q=q, color=hex_, color_tolerance=float(tolerance), filters=filters, limit=limit)
    if cursor:
        offset = _decode_cursor(cursor, query.fingerprint())
        query = SearchQuery(q, hex_, float(tolerance), filters, limit, offset)
    return query


def _date(name: str, value: str | None) -> datetime | None:
    """ISO 8601: a date (midnight UTC) or a date and time (UTC when no offset is given)."""
    if value in (None, ""):
        return None
    try:
        text = value.strip()
        if len(text) == 10:
            parsed = datetime.combine(date.fromisoformat(text), time(), tzinfo=UTC)
        else:
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00") if text.endswith("Z") else text)
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        parsed = parsed.astimezone(UTC)
    except (ValueError, TypeError, OverflowError, AttributeError):
        raise InvalidInput(f"{name} must be an ISO 8601 date or date and time, e.g. 2026-12-01 "
                           "or 2026-12-01T10:00:00Z.", code="invalid_date",
                           details={"field": name, "value": str(value)[:60]}) from None
    if not 1970 <= parsed.year <= 9998:
        raise InvalidInput(f"{name} must be between 1970 and 9998.", code="invalid_date",
                           details={"field": name, "value": str(value)[:60]})
    return parsed


def encode_cursor(offset: int, fingerprint: str) -> str:
    return base64.urlsafe_b64encode(json.dumps({"o": offset, "f": fingerprint}).encode()).decode().rstrip("=")


def _decode_cursor(cursor: str, fingerprint: str) -> int:
    try:
        raw = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        offset, bound = raw["o"], raw["f"]
        ok = isinstance(offset, int) and not isinstance(offset, bool) and 0 < offset <= MAX_CANDIDATES
    except (ValueError, TypeError, KeyError, UnicodeDecodeError):
        ok, bound = False, None
    if not ok:
        raise InvalidInput("cursor is not one this API gave out", code="invalid_cursor")
    if bound != fingerprint:
        raise InvalidInput("cursor belongs to another query: pass the same q, color and filters",
                           code="invalid_cursor")
    return offset
