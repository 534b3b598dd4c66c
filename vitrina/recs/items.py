"""Items: the things a project recommends, under the team's own string ids (decision 029).

An item has a ``type``, JSON ``attributes``, a ``title`` and a ``body``, linked asset
ids and an optional activity window (``active_from``, ``active_until``). Writes are
upserts, idempotent: the canonical JSON of those fields is hashed, and a row is
written (and its ``updated_at`` moved) only when the hash changes, so the same body
sent twice changes nothing. A batch of up to :data:`MAX_BATCH` items is validated
whole and written in one transaction, all or nothing.

Every call names the caller's project; another project's item answers exactly as a
missing one (decision 010), and the same id in two projects names two items.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import String, and_, bindparam, delete, func, or_, select
from sqlalchemy.orm import Session, sessionmaker

from vitrina.errors import InvalidInput, NotFound, PayloadTooLarge
from vitrina.ids import is_id
from vitrina.problems import BatchProblems
from vitrina.storage.catalog.db import transaction
from vitrina.storage.catalog.items import ITEM_ID_LENGTH, ITEM_TYPE_LENGTH, ItemRow
from vitrina.storage.catalog.models import utcnow
from vitrina.storage.catalog.projects import ProjectRow

#: items per batch (API request, or one transaction of an import)
MAX_BATCH = 10_000
MAX_TITLE = 512
MAX_BODY = 8_000
#: the attributes as compact JSON, in bytes
MAX_ATTRIBUTES_BYTES = 8_192
MAX_ASSETS = 32
MAX_PAGE = 500
FIELDS = frozenset({"type", "attributes", "title", "body", "asset_ids", "active_from",
                    "active_until"})

ITEM_ID = re.compile(rf"^[A-Za-z0-9][A-Za-z0-9_.:@-]{{0,{ITEM_ID_LENGTH - 1}}}\Z")
_TYPE = re.compile(rf"^[A-Za-z0-9_.:-]{{1,{ITEM_TYPE_LENGTH}}}\Z")
_IN_CHUNK = 500  # ids per IN (...) when reading a batch's stored hashes


class InvalidItems(InvalidInput):
    code = "invalid_items"


class BatchTooLarge(PayloadTooLarge):
    code = "batch_too_large"


@dataclass(frozen=True, slots=True)
class Item:
    """A validated item, as written."""

    id: str
    type: str
    attributes: dict[str, Any]
    title: str | None
    body: str | None
    asset_ids: tuple[str, ...]
    active_from: datetime | None
    active_until: datetime | None

    def content(self) -> dict[str, Any]:
        return {"type": self.type, "attributes": self.attributes, "title": self.title,
                "body": self.body, "asset_ids": list(self.asset_ids),
                "active_from": _iso(self.active_from), "active_until": _iso(self.active_until)}

    def sha256(self) -> str:
        canonical = json.dumps(self.content(), sort_keys=True, separators=(",", ":"),
                               ensure_ascii=False, allow_nan=False)
        return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class ItemRecord(Item):
    """An item as stored: its fields and when it was first and last written."""

    created_at: datetime
    updated_at: datetime

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, **self.content(),
                "created_at": _iso(self.created_at), "updated_at": _iso(self.updated_at)}


@dataclass(frozen=True, slots=True)
class Upserted:
    """What a batch did: ids new, changed and unchanged (in the batch's order)."""

    new: tuple[str, ...]
    updated: tuple[str, ...]
    unchanged: tuple[str, ...]

    def counts(self) -> dict[str, int]:
        return {"new": len(self.new), "updated": len(self.updated),
                "unchanged": len(self.unchanged)}


@dataclass(frozen=True, slots=True)
class ItemPage:
    items: tuple[ItemRecord, ...]
    next_cursor: str | None


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).isoformat()


def Problems(start: int = 0) -> BatchProblems:
    return BatchProblems(InvalidItems, "items", "nothing was written", start)


def item_problems(item_id: Any, data: Any) -> list[tuple[str, str]]:
    """Every problem of one item as (field, message); empty when it is valid."""
    out: list[tuple[str, str]] = []
    if not isinstance(item_id, str) or not ITEM_ID.match(item_id):
        message = f"must be 1-{ITEM_ID_LENGTH} letters, digits or '_.:@-', the first a letter or a digit"
        out.append(("id", message))
    if not isinstance(data, dict):
        return [*out, ("", "must be an object")]
    if unknown := sorted(set(data) - FIELDS - {"id"}):
        out.append((",".join(unknown), f"unknown field(s); allowed: {sorted(FIELDS | {'id'})}"))
    kind = data.get("type")
    if not isinstance(kind, str) or not _TYPE.match(kind):
        out.append(("type", f"must be 1-{ITEM_TYPE_LENGTH} letters, digits or '_.:-'"))
    attributes = data.get("attributes", {})
    if not isinstance(attributes, dict):
        out.append(("attributes", "must be an object"))
    else:
        try:
            size = len(json.dumps(attributes, separators=(",", ":"), ensure_ascii=False,
                                  allow_nan=False).encode())
        except ValueError:
            out.append(("attributes", "must be JSON without NaN or infinities"))
        else:
            if size > MAX_ATTRIBUTES_BYTES:
                out.append(("attributes", f"{size} bytes as JSON; at most {MAX_ATTRIBUTES_BYTES}"))
    for field, limit in (("title", MAX_TITLE), ("body", MAX_BODY)):
        value = data.get(field)
        if value is not None and (not isinstance(value, str) or len(value) > limit):
            out.append((field, f"must be a string of at most {limit} characters, or null"))
    assets = data.get("asset_ids", [])
    if not isinstance(assets, list) or len(assets) > MAX_ASSETS or \
            not all(isinstance(a, str) and is_id(a) for a in assets):
        out.append(("asset_ids", f"must be a list of at most {MAX_ASSETS} asset ids"))
    for field in ("active_from", "active_until"):
        if _time(data.get(field)) is _BAD:
            out.append((field, "must be an ISO 8601 time with a zone, epoch seconds, or null"))
    start, end = _time(data.get("active_from")), _time(data.get("active_until"))
    if isinstance(start, datetime) and isinstance(end, datetime) and end <= start:
        out.append(("active_until", "must be after active_from"))
    return out


_BAD = object()


def _time(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if not (math.isfinite(value) and 0 <= value < 32503680000):  # before year 3000
            return _BAD
        return datetime.fromtimestamp(value, UTC)
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return _BAD
        return _BAD if parsed.tzinfo is None else parsed.astimezone(UTC)
    return _BAD


def make_item(item_id: str, data: dict[str, Any]) -> Item:
    """An item from fields :func:`item_problems` found valid."""
    return Item(item_id, data["type"], dict(data.get("attributes") or {}), data.get("title"),
                data.get("body"), tuple(data.get("asset_ids") or ()),
                _time(data.get("active_from")), _time(data.get("active_until")))


def parse_items(items: Any, start: int = 0) -> list[Item]:
    """A batch (a list of objects, each with its ``id``), validated whole."""
    if not isinstance(items, Sequence) or isinstance(items, (str, bytes)):
        raise InvalidItems("items must be a list of objects")
    if len(items) > MAX_BATCH:
        raise BatchTooLarge(f"{len(items)} items in one batch; send at most {MAX_BATCH}",
                            details={"max": MAX_BATCH})
    p, seen, out = Problems(start), set(), []
    for i, data in enumerate(items):
        item_id = data.get("id") if isinstance(data, dict) else None
        problems = item_problems(item_id, data)
        if not problems and item_id in seen:
            problems = [("id", "appears twice in the batch")]
        for field, message in problems:
            p.add(i, field, message)
        if not problems:
            seen.add(item_id)
            out.append(make_item(item_id, data))
    p.raise_any(len(items))
    return out


def _insert(session: Session):
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert


def _record(row: ItemRow) -> ItemRecord:
    def utc(value: datetime | None) -> datetime | None:
        return value if value is None or value.tzinfo else value.replace(tzinfo=UTC)

    return ItemRecord(row.item_id, row.type, row.attributes, row.title, row.body,
                      tuple(row.asset_ids), utc(row.active_from), utc(row.active_until),
                      utc(row.created_at), utc(row.updated_at))


def _no_item(item_id: str) -> NotFound:
    return NotFound(f"no item {item_id!r}", details={"id": item_id})


def encode_cursor(item_id: str) -> str:
    return base64.urlsafe_b64encode(item_id.encode()).decode()


def decode_cursor(cursor: str) -> str:
    try:
        value = base64.urlsafe_b64decode(cursor.encode()).decode()
    except (ValueError, UnicodeDecodeError):
        value = ""
    if not ITEM_ID.match(value):
        raise InvalidInput("cursor is not one this API gave out", code="invalid_cursor")
    return value


class ItemService:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions

    @classmethod
    def of(cls, runtime: Any) -> ItemService:
        return cls(runtime.sessions)

    def upsert(self, project: str, item_id: str, data: Any) -> tuple[ItemRecord, str]:
        """Create or replace one item: the record and ``new``, ``updated`` or ``unchanged``."""
        if isinstance(data, dict) and "id" in data and data["id"] != item_id:
            raise InvalidItems("the body's id differs from the path's",
                               details={"problems": [{"index": 0, "field": "id",
                                                      "message": "differs from the path's"}],
                                        "count": 1})
        body = {**data, "id": item_id} if isinstance(data, dict) else data
        done = self.upsert_many(project, [body])
        outcome = "new" if done.new else "updated" if done.updated else "unchanged"
        return self.get(project, item_id), outcome

    def upsert_many(self, project: str, items: Any, start: int = 0) -> Upserted:
        """Validate the batch whole, then write it in one transaction."""
        parsed = parse_items(items, start)
        with transaction(self.sessions) as s:
            return write_items(s, project, parsed)

    def get(self, project: str, item_id: str) -> ItemRecord:
        if not ITEM_ID.match(item_id):
            raise _no_item(item_id)
        with self.sessions() as s:
            row = s.get(ItemRow, (project, item_id))
            if row is None:
                raise _no_item(item_id)
            return _record(row)

    def delete(self, project: str, item_id: str) -> None:
        with transaction(self.sessions) as s:
            gone = s.execute(delete(ItemRow).where(ItemRow.project_id == project,
                                                   ItemRow.item_id == item_id)).rowcount
        if not gone:
            raise _no_item(item_id)

    def list(self, project: str, *, type: str | None = None, active: bool | None = None,
             limit: int = 100, cursor: str | None = None,
             now: datetime | None = None) -> ItemPage:
        """By id; pass ``next_cursor`` back as ``cursor`` for the next page."""
        if not 1 <= limit <= MAX_PAGE:
            raise InvalidInput(f"limit must be between 1 and {MAX_PAGE}", details={"limit": limit})
        query = select(ItemRow).where(ItemRow.project_id == project)
        if type is not None:
            query = query.where(ItemRow.type == type)
        if active is not None:
            at = (now or utcnow()).astimezone(UTC)
            started = or_(ItemRow.active_from.is_(None), ItemRow.active_from <= at)
            running = or_(ItemRow.active_until.is_(None), ItemRow.active_until > at)
            query = query.where(and_(started, running) if active else ~and_(started, running))
        if cursor:
            query = query.where(ItemRow.item_id > decode_cursor(cursor))
        with self.sessions() as s:
            rows = s.scalars(query.order_by(ItemRow.item_id).limit(limit + 1)).all()
            records = [_record(r) for r in rows[:limit]]
        more = len(rows) > limit
        return ItemPage(tuple(records), encode_cursor(records[-1].id) if more else None)


def write_items(session: Session, project: str, items: list[Item]) -> Upserted:
    """Upsert ``items`` (validated, ids distinct) in the caller's transaction: a row is
    written only when its content hash changes."""
    if not items:
        return Upserted((), (), ())
    if session.get(ProjectRow, project) is None:
        raise NotFound(f"no project {project!r}", details={"project": project})
    ids = [x.id for x in items]
    stored: dict[str, str] = {}
    known = select(ItemRow.item_id, ItemRow.content_sha256).where(ItemRow.project_id == project)
    if session.get_bind().dialect.name == "postgresql":
        # one array parameter: 500 rendered IN parameters cost 20 times the lookup here
        from sqlalchemy.dialects.postgresql import ARRAY

        stored.update(session.execute(known.where(
            ItemRow.item_id == func.any(bindparam("ids", ids, type_=ARRAY(String))))).all())
    else:
        for i in range(0, len(ids), _IN_CHUNK):
            stored.update(session.execute(
                known.where(ItemRow.item_id.in_(ids[i:i + _IN_CHUNK]))).all())
    now = utcnow()
    new, updated, unchanged, rows = [], [], [], []
    for x in items:
        digest = x.sha256()
        if stored.get(x.id) == digest:
            unchanged.append(x.id)
            continue
        (updated if x.id in stored else new).append(x.id)
        rows.append({"project_id": project, "item_id": x.id, "type": x.type,
                     "attributes": x.attributes, "title": x.title, "body": x.body,
                     "asset_ids": list(x.asset_ids), "active_from": x.active_from,
                     "active_until": x.active_until, "content_sha256": digest,
                     "created_at": now, "updated_at": now})
    if rows:
        stmt = _insert(session)(ItemRow)
        changed = {c: getattr(stmt.excluded, c) for c in
                   ("type", "attributes", "title", "body", "asset_ids", "active_from",
                    "active_until", "content_sha256", "updated_at")}
        stmt = stmt.on_conflict_do_update(
            index_elements=["project_id", "item_id"], set_=changed,
            where=ItemRow.content_sha256 != stmt.excluded.content_sha256)
        session.execute(stmt, rows)
    return Upserted(tuple(new), tuple(updated), tuple(unchanged))
