"""Every statement on ``collections`` and ``collection_assets``; reads return frozen
:class:`CollectionRecord` snapshots, never live rows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Row, bindparam, delete, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from vitrina.storage.catalog.db import transaction
from vitrina.storage.catalog.models import Asset, Collection, CollectionAsset, utcnow


@dataclass(frozen=True, slots=True)
class CollectionRecord:
    id: str
    name: str
    description: str | None
    asset_count: int
    created_at: datetime
    updated_at: datetime


COLLECTIONS, MEMBERS = Collection.__table__, CollectionAsset.__table__
_c, _m, _a = COLLECTIONS.c, MEMBERS.c, Asset.__table__.c

_COUNT = select(func.count()).where(_m.collection_id == _c.id).scalar_subquery()
_RECORDS = select(_c.id, _c.name, _c.description, _COUNT.label("asset_count"), _c.created_at, _c.updated_at)
_OF_PROJECT = _c.project_id == bindparam("p_project")
_GET = _RECORDS.where(_OF_PROJECT, _c.id == bindparam("p_id"))
_PAGE = _RECORDS.where(_OF_PROJECT).order_by(_c.id.desc()).limit(bindparam("p_limit"))
_PAGE_AFTER = (_RECORDS.where(_OF_PROJECT, _c.id < bindparam("p_after")).order_by(_c.id.desc())
               .limit(bindparam("p_limit")))
_ADD = insert(COLLECTIONS)
_DELETE = delete(COLLECTIONS).where(_OF_PROJECT, _c.id == bindparam("p_id"))
_ASSET_IN_PROJECT = select(_a.id).where(_a.id == bindparam("p_asset"), _a.project_id == bindparam("p_project"))
#: add a member unless it is one already (both dialects spell it alike)
_ADD_MEMBER = {name: dialect.insert(MEMBERS).on_conflict_do_nothing(index_elements=["collection_id", "asset_id"])
               for name, dialect in (("postgresql", postgresql), ("sqlite", sqlite))}
_REMOVE_MEMBER = delete(MEMBERS).where(_m.collection_id == bindparam("p_id"), _m.asset_id == bindparam("p_asset"))


class NameTaken(Exception):
    """Another collection of the project has this name."""


class CollectionRepository:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions

    def get(self, project: str, collection_id: str) -> CollectionRecord | None:
        with self.sessions() as s:
            return _record(s.execute(_GET, {"p_project": project, "p_id": collection_id}).first())

    def page(self, project: str, limit: int, after: str | None) -> tuple[list[CollectionRecord], bool]:
        """Up to ``limit`` collections, newest first, older than ``after``; and whether more follow."""
        params = {"p_project": project, "p_limit": limit + 1, "p_after": after}
        with self.sessions() as s:
            rows = s.execute(_PAGE if after is None else _PAGE_AFTER, params).all()
        return [_record(r) for r in rows[:limit]], len(rows) > limit

    def create(self, project: str, collection_id: str, name: str, description: str | None,
               now: datetime) -> CollectionRecord:
        try:
            with transaction(self.sessions) as s:
                s.execute(_ADD, {"id": collection_id, "project_id": project, "name": name,
                                 "description": description, "created_at": now, "updated_at": now})
                return _record(s.execute(_GET, {"p_project": project, "p_id": collection_id}).first())
        except IntegrityError:
            raise NameTaken(name) from None

    def update(self, project: str, collection_id: str, values: dict[str, str | None],
               now: datetime) -> CollectionRecord | None:
        """Set ``values`` (name, description); None if there is no such collection."""
        statement = update(COLLECTIONS).where(_OF_PROJECT, _c.id == bindparam("p_id"))
        params = {"p_project": project, "p_id": collection_id}
        try:
            with transaction(self.sessions) as s:
                if not s.execute(statement.values(**values, updated_at=now), params).rowcount:
                    return None
                return _record(s.execute(_GET, params).first())
        except IntegrityError:
            raise NameTaken(values.get("name")) from None

    def delete(self, project: str, collection_id: str) -> bool:
        with transaction(self.sessions) as s:
            return bool(s.execute(_DELETE, {"p_project": project, "p_id": collection_id}).rowcount)

    def set_member(self, project: str, collection_id: str, asset_id: str, member: bool) -> str | None:
        """Add (or remove) the asset; what was missing ("collection" or "asset"), else None.
        Both must be the project's; adding twice or removing a non-member changes nothing."""
        try:
            with transaction(self.sessions) as s:
                if s.execute(_GET, {"p_project": project, "p_id": collection_id}).first() is None:
                    return "collection"
                if s.scalar(_ASSET_IN_PROJECT, {"p_project": project, "p_asset": asset_id}) is None:
                    return "asset"
                if member:
                    s.execute(_ADD_MEMBER[s.get_bind().dialect.name],
                              {"collection_id": collection_id, "asset_id": asset_id, "added_at": utcnow()})
                else:
                    s.execute(_REMOVE_MEMBER, {"p_id": collection_id, "p_asset": asset_id})
        except IntegrityError:  # the collection or the asset was deleted meanwhile
            return "asset"
        return None


def _record(row: Row | None) -> CollectionRecord | None:
    return None if row is None else CollectionRecord(row.id, row.name, row.description, row.asset_count,
                                                     row.created_at, row.updated_at)
