"""The collection service: what the API and the CLI do with collections. Every call
names the caller's project; another project's collection or asset answers exactly as a
missing one (decision 010)."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Any

from vitrina.assets.cursors import decode_cursor, encode_cursor
from vitrina.collections.repository import CollectionRecord, CollectionRepository, NameTaken
from vitrina.errors import Conflict, InvalidInput, NotFound
from vitrina.ids import is_id, new_id
from vitrina.storage.catalog.models import utcnow

MAX_NAME = 128
MAX_DESCRIPTION = 2000
MAX_PAGE = 500


@dataclass(frozen=True, slots=True)
class CollectionPage:
    items: tuple[CollectionRecord, ...]
    next_cursor: str | None


class CollectionService:
    def __init__(self, repository: CollectionRepository) -> None:
        self.repository = repository

    @classmethod
    def of(cls, runtime: Any) -> CollectionService:
        """Over ``runtime``'s catalog (two small objects: cheap to make per call)."""
        return cls(CollectionRepository(runtime.sessions))

    def create(self, project: str, name: str, description: str | None = None) -> CollectionRecord:
        name, description = _name(name), _description(description)
        try:
            return self.repository.create(project, new_id(), name, description, utcnow())
        except NameTaken:
            raise _taken(name) from None

    def get(self, project: str, collection_id: str) -> CollectionRecord:
        record = self.repository.get(project, collection_id) if is_id(collection_id) else None
        if record is None:
            raise _no_collection(collection_id)
        return record

    def list(self, project: str, *, limit: int = 50, cursor: str | None = None) -> CollectionPage:
        """Newest first; pass a page's ``next_cursor`` back as ``cursor`` for the next."""
        if not 1 <= limit <= MAX_PAGE:
            raise InvalidInput(f"limit must be between 1 and {MAX_PAGE}", details={"limit": limit})
        items, more = self.repository.page(project, limit, decode_cursor(cursor) if cursor else None)
        return CollectionPage(tuple(items), encode_cursor(items[-1].id) if more else None)

    def update(self, project: str, collection_id: str, changes: dict[str, Any]) -> CollectionRecord:
        """Set the members present in ``changes`` (``name``, ``description``; a null
        description clears it); the others stay."""
        values = collection_changes(changes, creating=False)
        if not values:
            return self.get(project, collection_id)
        try:
            record = self.repository.update(project, collection_id, values, utcnow()) \
                if is_id(collection_id) else None
        except NameTaken:
            raise _taken(values["name"] or "") from None
        if record is None:
            raise _no_collection(collection_id)
        return record

    def delete(self, project: str, collection_id: str) -> None:
        """Delete the collection; its assets stay (only their membership goes)."""
        if not (is_id(collection_id) and self.repository.delete(project, collection_id)):
            raise _no_collection(collection_id)

    def add(self, project: str, collection_id: str, asset_id: str) -> None:
        """Put the asset in the collection (again: nothing changes)."""
        self._member(project, collection_id, asset_id, True)

    def remove(self, project: str, collection_id: str, asset_id: str) -> None:
        """Take the asset out of the collection (not in it: nothing changes)."""
        self._member(project, collection_id, asset_id, False)

    def _member(self, project: str, collection_id: str, asset_id: str, member: bool) -> None:
        missing = "collection" if not is_id(collection_id) else "asset" if not is_id(asset_id) else \
            self.repository.set_member(project, collection_id, asset_id, member)
        if missing == "collection":
            raise _no_collection(collection_id)
        if missing == "asset":
            shown = asset_id[:64]
            raise NotFound(f"no asset {shown!r}", details={"id": shown})


def collection_changes(body: dict[str, Any], *, creating: bool) -> dict[str, str | None]:
    """The members of a create or edit body, checked (``invalid_collection`` names the one
    at fault): ``name`` (required to create) and ``description``."""
    unknown = sorted(set(body) - {"name", "description"})
    if unknown:
        raise _invalid(unknown[0][:64], "unknown member", allowed=["description", "name"])
    if creating and "name" not in body:
        raise _invalid("name", "is required")
    values: dict[str, str | None] = {}
    if "name" in body:
        values["name"] = _name(body["name"])
    if "description" in body:
        values["description"] = _description(body["description"])
    return values


def _name(value: Any) -> str:
    if not isinstance(value, str):
        raise _invalid("name", "must be a string")
    name = value.strip()
    if not 1 <= len(name) <= MAX_NAME:
        raise _invalid("name", f"1 to {MAX_NAME} characters once trimmed", max=MAX_NAME)
    if any(unicodedata.category(c) == "Cc" for c in name):
        raise _invalid("name", "must not contain control characters")
    return name


def _description(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise _invalid("description", "must be a string or null")
    if len(value) > MAX_DESCRIPTION:
        raise _invalid("description", f"at most {MAX_DESCRIPTION} characters", max=MAX_DESCRIPTION)
    if any(unicodedata.category(c) == "Cc" and c not in "\n\t" for c in value):
        raise _invalid("description", "must not contain control characters")
    return value


def _invalid(member: str, message: str, **details: Any) -> InvalidInput:
    return InvalidInput(f"{member}: {message}", code="invalid_collection", details={"field": member, **details})


def _taken(name: str) -> Conflict:
    return Conflict(f"the project has a collection named {name[:MAX_NAME]!r} already",
                    code="collection_name_taken", details={"name": name[:MAX_NAME]})


def _no_collection(collection_id: str) -> NotFound:
    shown = collection_id[:64]
    return NotFound(f"no collection {shown!r}", details={"id": shown})

