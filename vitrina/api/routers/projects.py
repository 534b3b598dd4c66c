"""/v1/projects: projects, their API keys and their URL signing keys.

Who may call: an organisation admin (scope ``org``) everywhere. A project admin (scope
``admin``) may read its own project and manage its API and signing keys through the
same routes; to it every other project answers exactly as a missing one (404). A key
with a lower scope gets 403 on every route here.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from vitrina.access.keys import (
    ALL_SCOPES,
    ORG,
    KeyRecord,
    Principal,
    create_key_record,
    list_keys,
    revoke_key,
)
from vitrina.api.deps import get_runtime, require
from vitrina.errors import Forbidden
from vitrina.projects.service import QUOTA_KEYS, ProjectRecord, ProjectService, no_project

router = APIRouter(prefix="/v1/projects", tags=["projects"])
_org, _admin = require(ORG), require("admin")
QUOTAS = f"overrides of the server's defaults, by name: {', '.join(QUOTA_KEYS)}"


async def _manager(request: Request) -> Principal:
    """An organisation admin, else a project admin (403 naming ``admin`` otherwise)."""
    try:
        return await _org(request)
    except Forbidden:
        return await _admin(request)


def _access(level: str) -> Callable[[str, Request], Awaitable[Principal]]:
    """``level`` ``org``: organisation admins only; ``admin``: also the project's own
    admin. Another project is a 404 before any scope but the lowest is looked at."""

    async def dependency(project_id: str, request: Request) -> Principal:
        principal = await _manager(request)
        if principal.allows(ORG):
            return principal
        if principal.project_id != project_id:
            raise no_project(project_id)
        if level == ORG:
            raise Forbidden(f"this API key lacks the '{ORG}' scope", details={"needed": ORG})
        return principal

    return dependency


OrgOnly = Annotated[Principal, Depends(_access(ORG))]
OrgOrOwnAdmin = Annotated[Principal, Depends(_access("admin"))]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ProjectIn(_Strict):
    id: str = Field(description="a slug: lowercase letters, digits and dashes, at most 63",
                    examples=["shop-front"])
    name: str | None = Field(None, description="default: the id")
    quotas: dict[str, Any] | None = Field(None, description=QUOTAS)


class ProjectUpdate(_Strict):
    name: str | None = None
    quotas: dict[str, Any] | None = Field(
        None, description=QUOTAS + "; null removes an override, keys not named are kept")


class ProjectOut(BaseModel):
    id: str
    name: str
    quotas: dict[str, int]
    created_at: datetime


class ProjectList(BaseModel):
    items: list[ProjectOut]


class KeyIn(_Strict):
    name: str = Field(min_length=1, max_length=128)
    scopes: list[str] = Field(min_length=1, description=f"among {', '.join(ALL_SCOPES)}; "
                                                       f"'{ORG}' only for the default project")


class KeyOut(BaseModel):
    id: str
    project_id: str
    name: str
    scopes: list[str]
    created_at: datetime
    revoked_at: datetime | None


class NewKeyOut(KeyOut):
    key: str = Field(description="vk_<id>_<secret>: shown this once, never again")


class KeyList(BaseModel):
    items: list[KeyOut]


class SigningKeyOut(BaseModel):
    id: str
    project_id: str
    created_at: datetime
    revoked_at: datetime | None


class NewSigningKeyOut(BaseModel):
    id: str = Field(description="the key id, the first part of a URL signature")
    project_id: str
    secret: str = Field(description="shown this once, never again")
    created_at: datetime


class SigningKeyList(BaseModel):
    items: list[SigningKeyOut]


def _projects(request: Request) -> ProjectService:
    return get_runtime(request).projects


def _out(record: ProjectRecord) -> ProjectOut:
    return ProjectOut(**record.to_dict())


def _key(record: KeyRecord) -> dict[str, Any]:
    return record.to_dict()


# --- projects ----------------------------------------------------------------------------
@router.post("", response_model=ProjectOut, status_code=201, dependencies=[Depends(require(ORG))])
def create_project(body: ProjectIn, request: Request, response: Response) -> ProjectOut:
    """Create a project (400 ``invalid_project_id``, ``invalid_quota``; 409 ``project_exists``)."""
    record = _projects(request).create(body.id, body.name, body.quotas)
    response.headers["Location"] = f"/v1/projects/{record.id}"
    return _out(record)


@router.get("", response_model=ProjectList, dependencies=[Depends(require(ORG))])
def list_projects(request: Request) -> ProjectList:
    """Every project, by id."""
    return ProjectList(items=[_out(r) for r in _projects(request).list()])


@router.get("/{project_id}", response_model=ProjectOut)
def get_project(project_id: str, request: Request, _: OrgOrOwnAdmin) -> ProjectOut:
    return _out(_projects(request).get(project_id))


@router.patch("/{project_id}", response_model=ProjectOut)
def update_project(project_id: str, body: ProjectUpdate, request: Request,
                   _: OrgOnly) -> ProjectOut:
    """Rename and/or change quota overrides."""
    return _out(_projects(request).update(project_id, name=body.name, quotas=body.quotas))


@router.delete("/{project_id}", status_code=204)
def delete_project(project_id: str, request: Request, _: OrgOnly) -> Response:
    """Delete an empty project with its keys (409 ``project_not_empty``; the default
    project answers 409 ``default_project``)."""
    _projects(request).delete(project_id)
    return Response(status_code=204)


# --- API keys ----------------------------------------------------------------------------
@router.post("/{project_id}/keys", response_model=NewKeyOut, status_code=201)
def create_project_key(project_id: str, body: KeyIn, request: Request,
                       principal: OrgOrOwnAdmin) -> NewKeyOut:
    """An API key of this project; the answer holds its secret, once. Only an
    organisation admin grants ``org``."""
    if not principal.may_grant(body.scopes):
        raise Forbidden(f"only an API key with the '{ORG}' scope may grant it",
                        details={"needed": ORG})
    _projects(request).get(project_id)
    sessions = get_runtime(request).sessions
    record, token = create_key_record(sessions, body.name, body.scopes, project_id)
    return NewKeyOut(**_key(record), key=token)


@router.get("/{project_id}/keys", response_model=KeyList)
def list_project_keys(project_id: str, request: Request, _: OrgOrOwnAdmin) -> KeyList:
    """The project's API keys, revoked ones too, never their secrets."""
    _projects(request).get(project_id)
    keys = list_keys(get_runtime(request).sessions, project_id)
    return KeyList(items=[KeyOut(**_key(k)) for k in keys])


@router.delete("/{project_id}/keys/{key_id}", status_code=204)
def revoke_project_key(project_id: str, key_id: str, request: Request,
                       principal: OrgOrOwnAdmin) -> Response:
    """Revoke one of the project's API keys (at once, on every process)."""
    _projects(request).get(project_id)
    revoke_key(get_runtime(request).sessions, key_id, project_id, by=principal)
    return Response(status_code=204)


# --- URL signing keys --------------------------------------------------------------------
@router.post("/{project_id}/signing-keys", response_model=NewSigningKeyOut, status_code=201)
def create_signing_key(project_id: str, request: Request, _: OrgOrOwnAdmin) -> NewSigningKeyOut:
    """A new URL signing key of this project (not of the default project, whose keys are
    the server's settings); the answer holds its secret, once. The newest key signs,
    every active one verifies; the image route sees it within its signing key TTL."""
    key = _projects(request).create_signing_key(project_id)
    return NewSigningKeyOut(id=key.id, project_id=key.project_id, secret=key.secret,
                            created_at=key.created_at)


@router.get("/{project_id}/signing-keys", response_model=SigningKeyList)
def list_signing_keys(project_id: str, request: Request, _: OrgOrOwnAdmin) -> SigningKeyList:
    """The project's signing keys, revoked ones too, never their secrets."""
    keys = _projects(request).signing_keys(project_id)
    return SigningKeyList(items=[SigningKeyOut(**k.to_dict()) for k in keys])


@router.delete("/{project_id}/signing-keys/{key_id}", status_code=204)
def revoke_signing_key(project_id: str, key_id: str, request: Request,
                       _: OrgOrOwnAdmin) -> Response:
    """Revoke a signing key: URLs it signed stop working within the signing key TTL."""
    _projects(request).revoke_signing_key(project_id, key_id)
    return Response(status_code=204)
