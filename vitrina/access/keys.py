"""API keys: ``vk_<id>_<secret>``; the catalog keeps only the secret's sha256."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from vitrina.errors import InvalidInput, NotFound, Unauthorized
from vitrina.storage.catalog.db import transaction
from vitrina.storage.catalog.models import ApiKey
from vitrina.storage.catalog.projects import DEFAULT_PROJECT, ProjectRow

SCOPES = ("read", "write", "admin")


@dataclass(frozen=True)
class Principal:
    """Who is calling: an API key, the project it acts in, and its scopes there."""

    key_id: str
    name: str
    scopes: frozenset[str]
    project_id: str = DEFAULT_PROJECT

    def allows(self, scope: str) -> bool:
        # admin implies write implies read
        rank = {s: i for i, s in enumerate(SCOPES)}
        return any(rank[s] >= rank[scope] for s in self.scopes if s in rank)


DEV_PRINCIPAL = Principal("dev", "development mode", frozenset({"admin"}), DEFAULT_PROJECT)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_key(sessions: sessionmaker[Session], name: str, scopes: list[str],
               project_id: str = DEFAULT_PROJECT) -> str:
    bad = [s for s in scopes if s not in SCOPES]
    if bad or not scopes:
        raise InvalidInput(f"scopes must be among {', '.join(SCOPES)} (got {bad or 'none'})", code="invalid_scope")
    key_id, secret = secrets.token_hex(8), secrets.token_urlsafe(32)
    with transaction(sessions) as s:
        if s.get(ProjectRow, project_id) is None:
            raise NotFound(f"no project {project_id!r}", details={"project": project_id})
        s.add(ApiKey(id=key_id, project_id=project_id, name=name, secret_sha256=_digest(secret),
                     scopes=",".join(sorted(set(scopes)))))
    return f"vk_{key_id}_{secret}"


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


def list_keys(sessions: sessionmaker[Session]) -> list[ApiKey]:
    with sessions() as s:
        return list(s.scalars(select(ApiKey).order_by(ApiKey.created_at)))


def revoke_key(sessions: sessionmaker[Session], key_id: str) -> None:
    with transaction(sessions) as s:
        row = s.get(ApiKey, key_id)
        if row is None:
            raise NotFound(f"no API key {key_id}")
        row.revoked_at = datetime.now(UTC)
