"""/v1/brand-kits, /v1/templates and /v1/campaigns: a project's creative documents, versioned
(decision 034). A PUT validates the whole document (a brand kit's fonts must be
installed, its text colour readable on its background; a template must lay out every
aspect; a campaign's references must exist) and answers 201 with a new version, or 200
when the document is unchanged. A campaign renders as a job (decision 037) and lists its
creatives."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, Field
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


# --- campaigns (decision 037) ---------------------------------------------------------------

class RenderIn(BaseModel):
    model_config = {"extra": "forbid"}
    engine: str = Field("local", max_length=32, description="a backfill engine: local or ray")
    workers: int | None = Field(None, ge=1, le=64, description="processes (default: the CPUs)")
    version: int | None = Field(None, ge=1, le=2**31 - 1, description="default: the latest")


class RenderJobOut(BaseModel):
    job_id: str = Field(description="GET /v1/batch/jobs/{job_id} (an admin key) shows its progress")
    creatives: int = Field(description="the campaign's whole variant grid")
    to_render: int = Field(description="not stored yet: what this job renders")


class CreativeOut(BaseModel):
    id: str
    item_id: str
    placement: str
    status: str = Field(description="ready | rejected")
    variant: str = Field(description="the grid id, e.g. h2|i1|hero")
    factors: dict[str, str]
    text: dict[str, str]
    image_asset: str = Field(description="the item's photo it shows")
    reasons: list[str] = Field(description="the failed gates' (or copy checks') codes")
    gates: dict[str, Any]
    asset_id: str | None
    image_url: str | None = Field(description="a signed /img URL of a ready creative")
    brand_kit: dict[str, Any]
    template: dict[str, Any]
    audit: dict[str, Any]


class CreativePageOut(BaseModel):
    items: list[CreativeOut]
    next_cursor: str | None


def _campaigns(request: Request):
    from vitrina.creative.campaigns import CampaignService

    return CampaignService(get_runtime(request))


@router.put("/v1/campaigns/{campaign_id}", response_model=DocumentOut,
            dependencies=[Depends(require("write"))], name="put_campaign",
            responses={201: {"model": DocumentOut, "description": "a new version"}},
            openapi_extra={"requestBody": {"required": True, "content": {
                "application/json": {"schema": {"type": "object"}}}}})
async def put_campaign(campaign_id: str, request: Request, response: Response) -> DocumentOut:
    """Store the campaign: its shape and every reference (brand kit, templates, items with
    a ready image) checked first; a changed document is the next version (201)."""
    body = await json_object(request)
    record, new = await run_in_threadpool(_campaigns(request).put, project_of(request),
                                          campaign_id, body)
    response.status_code = 201 if new else 200
    return _out(record)


@router.get("/v1/campaigns/{campaign_id}", response_model=DocumentOut,
            dependencies=[Depends(require("read"))], name="get_campaign")
def get_campaign(campaign_id: str, request: Request,
                 version: int | None = Query(None, ge=1, le=2**31 - 1)) -> DocumentOut:
    """The campaign's latest version, or ``version``."""
    return _out(_campaigns(request).get(project_of(request), campaign_id, version))


@router.post("/v1/campaigns/{campaign_id}/render", response_model=RenderJobOut, status_code=202,
             dependencies=[Depends(require("write"))], name="render_campaign")
def render_campaign(campaign_id: str, request: Request, body: RenderIn | None = None) -> RenderJobOut:
    """Render what is not stored yet of the campaign, as a job: every headline, image and
    layout variant of every item for every placement, gated; passed ones become assets."""
    from vitrina.creative.production import start_job

    body = body or RenderIn()
    job_id, cells, todo = start_job(get_runtime(request), project_of(request), campaign_id,
                                    version=body.version, engine=body.engine, workers=body.workers)
    return RenderJobOut(job_id=job_id, creatives=cells, to_render=todo)


@router.get("/v1/campaigns/{campaign_id}/creatives", response_model=CreativePageOut,
            dependencies=[Depends(require("read"))], name="list_campaign_creatives")
def list_creatives(campaign_id: str, request: Request,
                   placement: str | None = Query(None, max_length=64),
                   status: str | None = Query(None, max_length=16),
                   limit: int = Query(100, ge=1, le=500),
                   cursor: str | None = Query(None, max_length=64)) -> CreativePageOut:
    """The campaign's creatives: status, gate results and reason codes, factors, and for
    ready ones the asset and a signed image URL."""
    from vitrina.creative.campaigns import list_creatives as listing

    page = listing(get_runtime(request), project_of(request), campaign_id, placement=placement,
                   status=status, limit=limit, cursor=cursor)
    return CreativePageOut(items=[CreativeOut(**i) for i in page.items], next_cursor=page.next_cursor)
