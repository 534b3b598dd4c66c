"""The project service: create, read, rename and delete projects, set their quota
overrides, and keep their URL signing keys.

Project ids are slugs (``[a-z0-9][a-z0-9-]{0,62}``). An id that cannot be a project's
answers exactly as a missing project does, except on create, where it is a 400. The
``default`` project always exists (the migration makes it) and cannot be deleted; a
project is deleted only when it holds no assets, experiments or events.

URL signing keys: the default project's keys are the settings' ``signing.keys``; any
other project's keys live here, several at a time (the newest signs, every active one
verifies), and revoking one stops every URL it signed within the image route's key TTL.
Key ids are unique across projects and never one of the settings' key ids.

    projects = ProjectService(runtime.sessions, reserved_key_ids=frozenset(settings.signing.keys))
    projects.create("shop", "Shop front", quotas={"max_assets": 10_000})
    key = projects.create_signing_key("shop")  # key.id, key.secret: shown once
    projects.update("shop", quotas={"max_assets": None})  # None removes an override
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from vitrina.errors import Conflict, InvalidInput, NotFound
from vitrina.projects.quotas import QUOTA_NAMES
from vitrina.storage.catalog.db import transaction
from vitrina.storage.catalog.experiments import EventRow, ExperimentRow
from vitrina.storage.catalog.models import ApiKey, Asset, IdempotencyKey
from vitrina.storage.catalog.projects import DEFAULT_PROJECT, ProjectRow, SigningKeyRow, UsageRow
from vitrina.storage.catalog.webhooks import WebhookRow

PROJECT_ID = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")
MAX_NAME = 255
#: the quota overrides a project may set (the quotas module owns the list and its meaning)
QUOTA_KEYS = QUOTA_NAMES


@dataclass(frozen=True)
class ProjectRecord:
    id: str
    name: str
    quotas: dict[str, int]  # overrides of the settings' defaults; absent: the default
    created_at: datetime

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "quotas": dict(self.quotas),
                "created_at": self.created_at}


@dataclass(frozen=True)
class SigningKeyRecord:
    """A project's URL signing key as listed: never its secret."""

    id: str
    project_id: str
    created_at: datetime
    revoked_at: datetime | None

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "project_id": self.project_id, "created_at": self.created_at,
                "revoked_at": self.revoked_at}


@dataclass(frozen=True)
class SigningKey:
    """An active signing key with its secret: for signing and verifying URLs only."""

    id: str
    project_id: str
    secret: str
    created_at: datetime

    def __repr__(self) -> str:  # the secret stays out of logs and tracebacks
        return f"SigningKey(id={self.id!r}, project_id={self.project_id!r})"


class ProjectService:
    def __init__(self, sessions: sessionmaker[Session],
                 reserved_key_ids: frozenset[str] = frozenset()) -> None:
        """``reserved_key_ids``: signing key ids taken by the settings (the default
        project's keys); a project's new key never gets one of them."""
        self.sessions = sessions
        self.reserved_key_ids = reserved_key_ids

    # --- projects ------------------------------------------------------------------------
    def create(self, project_id: str, name: str | None = None,
               quotas: Mapping[str, Any] | None = None) -> ProjectRecord:
        """A new project; ``name`` defaults to the id. 400 ``invalid_project_id``,
        ``invalid_quota``; 409 ``project_exists``."""
        if not isinstance(project_id, str) or not PROJECT_ID.fullmatch(project_id):
            raise InvalidInput(
                "A project id is 1 to 63 lowercase letters, digits and dashes, starting with a "
                "letter or digit (e.g. shop-front).",
                code="invalid_project_id", details={"id": str(project_id)[:80]})
        row = ProjectRow(id=project_id, name=_name(project_id if name is None else name),
                         quotas=_quotas({}, quotas or {}), created_at=_now())
        try:
            with transaction(self.sessions) as s:
                if s.get(ProjectRow, project_id) is not None:
                    raise _exists(project_id)
                s.add(row)
        except IntegrityError:  # created meanwhile by someone else
            raise _exists(project_id) from None
        return _record(row)

    def get(self, project_id: str) -> ProjectRecord:
        with self.sessions() as s:
            return _record(self._row(s, project_id))

    def exists(self, project_id: str) -> bool:
        with self.sessions() as s:
            return _is_project_id(project_id) and s.get(ProjectRow, project_id) is not None

    def list(self) -> list[ProjectRecord]:
        """Every project by id."""
        with self.sessions() as s:
            return [_record(r) for r in s.scalars(select(ProjectRow).order_by(ProjectRow.id))]

    def update(self, project_id: str, *, name: str | None = None,
               quotas: Mapping[str, Any] | None = None) -> ProjectRecord:
        """Rename and/or change quota overrides: ``quotas`` maps a key to its new value,
        or to None to remove the override (keys not named stay as they are)."""
        with transaction(self.sessions) as s:
            row = self._row(s, project_id, lock=True)
            if name is not None:
                row.name = _name(name)
            if quotas:
                row.quotas = _quotas(row.quotas or {}, quotas)  # a new dict: the JSON is rewritten
            return _record(row)

    def delete(self, project_id: str) -> None:
        """Remove an empty project with its API keys, signing keys, webhooks and usage counters.
        409 ``project_not_empty`` while it holds assets, experiments or events;
        409 ``default_project`` for the default project."""
        if project_id == DEFAULT_PROJECT:
            raise Conflict("The default project cannot be deleted.", code="default_project",
                           details={"project": project_id})
        try:
            with transaction(self.sessions) as s:
                self._row(s, project_id, lock=True)
                held = {name: s.scalar(select(func.count()).select_from(table)
                                       .where(table.project_id == project_id))
                        for name, table in (("assets", Asset), ("experiments", ExperimentRow),
                                            ("events", EventRow))}
                if any(held.values()):
                    raise _not_empty(project_id, held)
                for table in (ApiKey, SigningKeyRow, UsageRow, IdempotencyKey, WebhookRow):
                    s.execute(delete(table).where(table.project_id == project_id))
                s.execute(delete(ProjectRow).where(ProjectRow.id == project_id))
        except IntegrityError:  # something of the project was written meanwhile
            raise _not_empty(project_id, {}) from None

    # --- URL signing keys ----------------------------------------------------------------
    def create_signing_key(self, project_id: str) -> SigningKey:
        """A new signing key for ``project_id``; it signs new URLs from now on (the newest
        does) and the older ones keep verifying until revoked. Its secret is only here:
        show it once. The default project's keys are the settings' (400)."""
        if project_id == DEFAULT_PROJECT:
            raise InvalidInput(
                "The default project signs with the keys in VITRINA_SIGNING__KEYS; add one "
                "there to rotate.", details={"project": project_id})
        key_id = secrets.token_hex(8)
        while key_id in self.reserved_key_ids:  # an id the settings use for another key
            key_id = secrets.token_hex(8)
        row = SigningKeyRow(id=key_id, project_id=project_id, secret=secrets.token_urlsafe(32),
                            created_at=_now())
        with transaction(self.sessions) as s:
            self._row(s, project_id)
            s.add(row)
        return SigningKey(row.id, row.project_id, row.secret, row.created_at)

    def signing_keys(self, project_id: str) -> list[SigningKeyRecord]:
        """The project's signing keys, oldest first, revoked ones too (no secrets)."""
        with self.sessions() as s:
            self._row(s, project_id)
            rows = s.scalars(select(SigningKeyRow).where(SigningKeyRow.project_id == project_id)
                             .order_by(SigningKeyRow.created_at, SigningKeyRow.id))
            return [SigningKeyRecord(r.id, r.project_id, r.created_at, r.revoked_at) for r in rows]

    def revoke_signing_key(self, project_id: str, key_id: str) -> SigningKeyRecord:
        """Revoke one of the project's keys (404 for another project's or an unknown one);
        URLs it signed stop working within the image route's signing key TTL."""
        with transaction(self.sessions) as s:
            self._row(s, project_id)
            row = s.get(SigningKeyRow, key_id) if len(key_id) <= 32 else None
            if row is None or row.project_id != project_id:
                raise NotFound(f"project {project_id!r} has no signing key {key_id[:40]!r}",
                               details={"project": project_id, "key_id": key_id[:40]})
            if row.revoked_at is None:
                row.revoked_at = _now()
            return SigningKeyRecord(row.id, row.project_id, row.created_at, row.revoked_at)

    def current_signing_key(self, project_id: str) -> SigningKey:
        """The key that signs the project's new URLs: its newest active one."""
        with self.sessions() as s:
            self._row(s, project_id)
            row = s.scalars(select(SigningKeyRow)
                            .where(SigningKeyRow.project_id == project_id,
                                   SigningKeyRow.revoked_at.is_(None))
                            .order_by(SigningKeyRow.created_at.desc(), SigningKeyRow.id.desc())
                            .limit(1)).first()
        if row is None:
            raise NotFound(f"project {project_id!r} has no active signing key: create one with "
                           f"`vitrina projects signing-key create {project_id}`",
                           code="no_signing_key", details={"project": project_id})
        return SigningKey(row.id, row.project_id, row.secret, row.created_at)

    def active_signing_keys(self) -> list[SigningKey]:
        """Every project's active signing keys (what the image route verifies with)."""
        with self.sessions() as s:
            rows = s.scalars(select(SigningKeyRow).where(SigningKeyRow.revoked_at.is_(None))
                             .order_by(SigningKeyRow.created_at, SigningKeyRow.id))
            return [SigningKey(r.id, r.project_id, r.secret, r.created_at) for r in rows]

    # ---------------------------------------------------------------------------------------
    @staticmethod
    def _row(s: Session, project_id: str, *, lock: bool = False) -> ProjectRow:
        row = None
        if _is_project_id(project_id):
            row = s.get(ProjectRow, project_id, with_for_update=lock or None)
        if row is None:
            raise no_project(project_id)
        return row


def no_project(project_id: str) -> NotFound:
    """The one answer for a project that is missing or not the caller's to see."""
    shown = str(project_id)[:64]
    return NotFound(f"no project {shown!r}", details={"project": shown})


def _is_project_id(project_id: object) -> bool:
    return isinstance(project_id, str) and PROJECT_ID.fullmatch(project_id) is not None


def _name(name: object) -> str:
    if not isinstance(name, str) or not name.strip() or len(name.strip()) > MAX_NAME:
        raise InvalidInput(f"A project name is 1 to {MAX_NAME} characters.",
                           details={"name": str(name)[:80]})
    return name.strip()


def _quotas(current: Mapping[str, int], changes: Mapping[str, Any]) -> dict[str, int]:
    """``current`` with ``changes`` applied (None removes an override); 400
    ``invalid_quota`` naming the first bad key or value."""
    if not isinstance(changes, Mapping):
        raise InvalidInput("quotas is an object of overrides, e.g. {\"max_assets\": 10000}.",
                           code="invalid_quota")
    out = dict(current)
    for key, value in changes.items():
        if key not in QUOTA_KEYS:
            raise InvalidInput(f"Unknown quota {str(key)[:40]!r}: use {', '.join(QUOTA_KEYS)}.",
                               code="invalid_quota", details={"quota": str(key)[:40]})
        if value is None:
            out.pop(key, None)
        elif isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise InvalidInput(f"Quota {key} must be a whole number >= 0 (or null to remove it).",
                               code="invalid_quota", details={"quota": key})
        else:
            out[key] = value
    return dict(sorted(out.items()))


def _record(row: ProjectRow) -> ProjectRecord:
    return ProjectRecord(row.id, row.name, dict(row.quotas or {}), row.created_at)


def _exists(project_id: str) -> Conflict:
    return Conflict(f"project {project_id!r} exists already", code="project_exists",
                    details={"project": project_id})


def _not_empty(project_id: str, held: dict[str, int]) -> Conflict:
    return Conflict(f"project {project_id!r} still holds data: delete its assets, experiments "
                    "and events first", code="project_not_empty",
                    details={"project": project_id, **{k: v for k, v in held.items() if v}})


def _now() -> datetime:
    return datetime.now(UTC)
