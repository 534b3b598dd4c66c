"""Every statement search runs on the catalogue, in one place.

Search reads a project's assets in bulk: the candidates a query's filters leave, the
text of each (title, alt text, tags of every source, OCR text), signals by name, and
what the vector indexes need to stay current (which assets hold an embedding signal
and when it was written). Reads only; one short session per call. Long id lists are
sent in chunks so no database meets its limit on bound parameters.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import String, func, select, type_coerce
from sqlalchemy.orm import Session, sessionmaker

from vitrina.storage.catalog.models import Asset, CollectionAsset, Signal, Tag

_a, _s, _t, _m = Asset.__table__.c, Signal.__table__.c, Tag.__table__.c, CollectionAsset.__table__.c
#: ids per IN list (SQLite's default limit on bound parameters is 32,766)
CHUNK = 2000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Filters:
    """What a search keeps before anything is ranked; None: no such filter."""

    kind: str | None = None
    tag: str | None = None  # normalised; a tag of any source (the user's or a model's)
    collection: str | None = None
    min_width: int | None = None
    max_width: int | None = None
    min_height: int | None = None
    max_height: int | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None


@dataclass(frozen=True, slots=True)
class Candidate:
    id: str
    title: str | None
    alt_text: str | None
    #: changes whenever the asset's text may have (with ``stamps``): its metadata version
    #: and its newest signal (OCR text and model tags come with signals)
    stamp: tuple[Any, ...] | None = None


def micros(value: datetime) -> int:
    """A timestamp as whole microseconds since 1970 (the index position's unit)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    delta = value - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def chunks(ids: Sequence[str], size: int = CHUNK) -> Iterator[Sequence[str]]:
    for start in range(0, len(ids), size):
        yield ids[start:start + size]


class SearchCatalogue:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions

    def candidates(self, project: str, filters: Filters, limit: int, *, stamps: bool = False) -> list[Candidate]:
        """Up to ``limit`` of the project's assets passing ``filters``, newest first; with
        ``stamps``, each with a stamp of its text's version."""
        f = filters
        columns = [_a.id, _a.title, _a.alt_text]
        if stamps:  # as text: no timestamp parsing for a value only compared
            newest = type_coerce(select(func.max(_s.created_at)).where(_s.asset_id == _a.id).scalar_subquery(),
                                 String)
            columns += [_a.metadata_version, newest.label("newest_signal")]
        query = select(*columns).where(_a.project_id == project)
        if f.kind is not None:
            query = query.where(_a.kind == f.kind)
        if f.tag is not None:
            query = query.where(_a.id.in_(select(_t.asset_id).where(_t.tag == f.tag)))
        if f.collection is not None:
            query = query.where(_a.id.in_(select(_m.asset_id).where(_m.collection_id == f.collection)))
        for column, low, high in ((_a.width, f.min_width, f.max_width), (_a.height, f.min_height, f.max_height)):
            if low is not None:
                query = query.where(column >= low)
            if high is not None:
                query = query.where(column <= high)
        if f.created_after is not None:
            query = query.where(_a.created_at >= f.created_after)
        if f.created_before is not None:
            query = query.where(_a.created_at < f.created_before)
        query = query.order_by(_a.id.desc()).limit(limit)
        with self.sessions() as s:
            return [Candidate(r.id, r.title, r.alt_text,
                              (r.metadata_version, r.newest_signal) if stamps else None)
                    for r in s.execute(query)]

    def tags(self, ids: Sequence[str]) -> dict[str, list[tuple[str, str]]]:
        """``{asset id: [(tag, source), ...]}`` of these assets."""
        out: dict[str, list[tuple[str, str]]] = {}
        with self.sessions() as s:
            for part in chunks(ids):
                for r in s.execute(select(_t.asset_id, _t.tag, _t.source).where(_t.asset_id.in_(part))):
                    out.setdefault(r.asset_id, []).append((r.tag, r.source))
        return out

    def signals(self, ids: Sequence[str], name: str) -> dict[str, dict[str, Any]]:
        """``{asset id: value}`` of the signal ``name`` of those of these assets that have it."""
        out: dict[str, dict[str, Any]] = {}
        with self.sessions() as s:
            for part in chunks(ids):
                query = select(_s.asset_id, _s.value).where(_s.name == name, _s.asset_id.in_(part))
                out.update((r.asset_id, r.value) for r in s.execute(query))
        return out

    # --- what the vector indexes read --------------------------------------------------
    def signal_stat(self, project: str, name: str) -> tuple[int, int]:
        """(count, newest created_at in microseconds or 0) of the project's ``name`` signals:
        when neither moved, nothing was added, replaced or deleted since it was last read."""
        query = (select(func.count(), func.max(_s.created_at)).select_from(Signal.__table__)
                 .join(Asset.__table__, _a.id == _s.asset_id)
                 .where(_a.project_id == project, _s.name == name))
        with self.sessions() as s:
            count, newest = s.execute(query).one()
        return int(count), 0 if newest is None else micros(_aware(newest))

    def signal_times(self, project: str, name: str, *, since: int | None = None) -> dict[str, int]:
        """``{asset id: created_at in microseconds}`` of the project's ``name`` signals
        (those written after ``since``, in microseconds, when given)."""
        query = (select(_s.asset_id, _s.created_at).join(Asset.__table__, _a.id == _s.asset_id)
                 .where(_a.project_id == project, _s.name == name))
        if since is not None:
            query = query.where(_s.created_at > _EPOCH + timedelta(microseconds=max(since, 0)))
        with self.sessions() as s:
            return {r.asset_id: micros(_aware(r.created_at)) for r in s.execute(query)}


def _aware(value: Any) -> datetime:
    """Aggregates skip the column's type on SQLite and come back as text."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
