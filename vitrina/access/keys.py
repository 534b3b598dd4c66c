"""API keys: ``vk_<id>_<secret>``; the catalog keeps only the secret's sha256.

A key belongs to one project and acts there. Its scopes are ``read < write < admin``
(each implies the ones before it) within that project, and ``org``, the organisation
admin: it manages projects, their API keys and their signing keys in every project,
and by itself reads or writes no data anywhere (give a key ``admin`` as well for that).
``org`` keys belong to the default project.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from vitrina.errors import Forbidden, InvalidInput, NotFound, Unauthorized
from vitrina.storage.catalog.db import transaction
from vitrina.storage.catalog.models import ApiKey
from vitrina.storage.catalog.projects import DEFAULT_PROJECT, ProjectRow

#: ranked scopes within the key's project: each implies the ones before it
SCOPES = ("read", "write", "admin")
#: the organisation admin: projects and keys of every project, no data access by itself
ORG = "org"
ALL_SCOPES = (*SCOPES, ORG)
MAX_NAME = 128
_RANK = {s: i for i, s in enumerate(SCOPES)}


@dataclass(frozen=True)
class Principal:
    """Who is calling: an API key, the project it acts in, and its scopes there."""

    key_id: str
    name: str
    scopes: frozenset[str]
    project_id: str = DEFAULT_PROJECT

    def allows(self, scope: str) -> bool:
        """``org`` only by itself; admin implies write implies read."""
        if scope == ORG:
            return ORG in self.scopes
        return any(_RANK[s] >= _RANK[scope] for s in self.scopes if s in _RANK)

    def may_manage(self, project_id: str) -> bool:
        """Whether this key may manage ``project_id``'s API and signing keys: an
        organisation admin anywhere, a project admin in its own project."""
        return self.allows(ORG) or (self.allows("admin") and self.project_id == project_id)

    def may_grant(self, scopes: list[str] | tuple[str, ...]) -> bool:
        """Whether this key may make a key with ``scopes``: ``org`` takes ``org``."""
        return ORG not in scopes or self.allows(ORG)


DEV_PRINCIPAL = Principal("dev", "development mode", frozenset({"admin", ORG}), DEFAULT_PROJECT)


@dataclass(frozen=True)
class KeyRecord:
    """An API key as listed: never its secret."""

    id: str
    project_id: str
    name: str
    scopes: tuple[str, ...]
    created_at: datetime
    revoked_at: datetime | None

    def to_dict(self) -> dict[str, object]:
        return {"id": self.id, "project_id": self.project_id, "name": self.name,
                "scopes": list(self.scopes), "created_at": self.created_at,
                "revoked_at": self.revoked_at}


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def check_scopes(scopes: list[str] | tuple[str, ...],
                 project_id: str = DEFAULT_PROJECT) -> list[str]:
    """The scopes sorted and without repeats; 400 ``invalid_scope`` for none, an unknown
    one, or ``org`` outside the default project."""
    bad = [s for s in scopes if s not in ALL_SCOPES]
    if bad or not scopes:
        raise InvalidInput(f"scopes must be among {', '.join(ALL_SCOPES)} (got {bad or 'none'})",
                           code="invalid_scope")
    if ORG in scopes and project_id != DEFAULT_PROJECT:
        raise InvalidInput(f"the '{ORG}' scope is only for keys of the default project: it "
                           "manages every project from there", code="invalid_scope",
                           details={"project": project_id})
    return sorted(set(scopes))


def create_key(sessions: sessionmaker[Session], name: str, scopes: list[str],
               project_id: str = DEFAULT_PROJECT) -> str:
    """A new key of ``project_id`` (404 when there is no such project); the returned
    token is the only copy of its secret."""
    return create_key_record(sessions, name, scopes, project_id)[1]


def create_key_record(sessions: sessionmaker[Session], name: str, scopes: list[str],
                      project_id: str = DEFAULT_PROJECT) -> tuple[KeyRecord, str]:
    """As :func:`create_key`, with the new key's record."""
    scopes = check_scopes(scopes, project_id)
    if not isinstance(name, str) or not name.strip() or len(name.strip()) > MAX_NAME:
        raise InvalidInput(f"a key name is 1 to {MAX_NAME} characters",
                           details={"name": str(name)[:80]})
    key_id, secret = secrets.token_hex(8), secrets.token_urlsafe(32)
    row = ApiKey(id=key_id, project_id=project_id, name=name.strip(), secret_sha256=_digest(secret),
                 scopes=",".join(scopes), created_at=datetime.now(UTC))
    with transaction(sessions) as s:
        if s.get(ProjectRow, project_id) is None:
            raise NotFound(f"no project {project_id[:64]!r}", details={"project": project_id[:64]})
        s.add(row)
    return _record(row), f"vk_{key_id}_{secret}"


def verify_key(sessions: sessionmaker[Session], token: str) -> Principal:
    parts = token.split("_", 2)
    if len(parts) != 3 or parts[0] != "vk":
        raise Unauthorized("malformed API key: expected vk_<id>_<secret>")
    _, key_id, secret = parts
    with sessions() as s:
        row = s.get(ApiKey, key_id)
    if row is None or row.revoked_at is not None or not hmac.compare_digest(row.secret_sha256, _digest(secret)):
        raise Unauthorized("unknown or revoked API key")
    return Principal(row.id, row.name, frozenset(row.scopes.split(",")), row.project_id)


def list_keys(sessions: sessionmaker[Session], project_id: str | None = None) -> list[KeyRecord]:
    """Keys oldest first, revoked ones too: ``project_id``'s, or every project's."""
    query = select(ApiKey).order_by(ApiKey.created_at, ApiKey.id)
    if project_id is not None:
        query = query.where(ApiKey.project_id == project_id)
    with sessions() as s:
        return [_record(row) for row in s.scalars(query)]


def revoke_key(sessions: sessionmaker[Session], key_id: str, project_id: str | None = None,
               by: Principal | None = None) -> KeyRecord:
    """Revoke a key by id (of ``project_id`` only, when given: another project's key is
    as missing as an unknown one). ``by``, when given, must be an organisation admin to
    revoke an ``org`` key (403)."""
    with transaction(sessions) as s:
        row = s.get(ApiKey, key_id) if len(key_id) <= 32 else None
        if row is None or (project_id is not None and row.project_id != project_id):
            raise NotFound(f"no API key {key_id[:40]}", details={"key_id": key_id[:40]})
        if by is not None and ORG in row.scopes.split(",") and not by.allows(ORG):
            raise Forbidden(f"only an API key with the '{ORG}' scope may revoke an '{ORG}' key",
                            details={"needed": ORG})
        if row.revoked_at is None:
            row.revoked_at = datetime.now(UTC)
        return _record(row)


def _record(row: ApiKey) -> KeyRecord:
    return KeyRecord(row.id, row.project_id, row.name, tuple(row.scopes.split(",")), row.created_at,
                     row.revoked_at)
