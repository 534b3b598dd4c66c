"""/v1/brand-kits and /v1/templates: a project's creative documents, versioned
(decision 034). A PUT validates the whole document (a brand kit's fonts must be
installed, its text colour readable on its background; a template must lay out every
aspect) and answers 201 with a new version, or 200 when the document is unchanged."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from vitrina.api.bodies import json_object
from vitrina.api.deps import get_runtime, project_of, require
from vitrina.creative.documents import DocumentRecord, DocumentService, parser_for

router = APIRouter(tags=["creative"])

#: path segment -> document kind
KINDS = {"brand-kits": "brand_kit", "templates": "template"}


class DocumentOut(BaseModel):
    id: str
    version: int
    sha256: str
    created_at: str
    document: dict[str, Any]


class DocumentList(BaseModel):
    items: list[DocumentOut]


def _out(record: DocumentRecord) -> DocumentOut:
    return DocumentOut(id=record.id, version=record.version, sha256=record.sha256,
                       created_at=record.created_at.isoformat(), document=record.document)


def _service(request: Request) -> DocumentService:
    return DocumentService(get_runtime(request).sessions)


def _routes(segment: str, kind: str) -> None:
    label = kind.replace("_", " ")

    @router.put(f"/v1/{segment}/{{document_id}}", response_model=DocumentOut,
                dependencies=[Depends(require("write"))], name=f"put_{kind}",
                responses={201: {"model": DocumentOut, "description": "a new version"}},
                openapi_extra={"requestBody": {"required": True, "content": {
                    "application/json": {"schema": {"type": "object"}}}}})
    async def put(document_id: str, request: Request, response: Response) -> DocumentOut:
        body = await json_object(request)
        record, new = await run_in_threadpool(
            _service(request).put, project_of(request), kind, document_id, body,
            parser_for(kind, document_id))
        response.status_code = 201 if new else 200
        return _out(record)

    put.__doc__ = (f"Store the {label} under this id: validated whole; a changed document "
                   "becomes the next version (201), the same one changes nothing (200).")

    @router.get(f"/v1/{segment}/{{document_id}}", response_model=DocumentOut,
                dependencies=[Depends(require("read"))], name=f"get_{kind}")
    def get(document_id: str, request: Request,
            version: int | None = Query(None, ge=1, le=2**31 - 1)) -> DocumentOut:
        return _out(_service(request).get(project_of(request), kind, document_id, version))

    get.__doc__ = f"The {label}'s latest version, or ``version``."

    @router.get(f"/v1/{segment}", response_model=DocumentList,
                dependencies=[Depends(require("read"))], name=f"list_{kind}")
    def listing(request: Request) -> DocumentList:
        return DocumentList(items=[_out(r) for r in _service(request).list(project_of(request), kind)])

    listing.__doc__ = f"The latest version of each of the project's {label}s, by id."


for _segment, _kind in KINDS.items():
    _routes(_segment, _kind)
