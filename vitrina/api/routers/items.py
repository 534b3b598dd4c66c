"""/v1/items: a project's recommendable items under its own ids (decision 029).

``PUT /v1/items/{item_id}`` and ``POST /v1/items`` (a batch) are idempotent upserts:
the same body twice changes nothing and keeps ``updated_at``."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from vitrina.api.bodies import json_object
from vitrina.api.deps import get_runtime, project_of, require
from vitrina.errors import InvalidInput
from vitrina.recs.items import MAX_BATCH, MAX_PAGE, ItemService

router = APIRouter(prefix="/v1/items", tags=["items"])


def service(request: Request) -> ItemService:
    return ItemService.of(get_runtime(request))


class ItemOut(BaseModel):
    id: str
    type: str
    attributes: dict[str, Any]
    title: str | None
    body: str | None
    asset_ids: list[str]
    active_from: str | None
    active_until: str | None
    created_at: str
    updated_at: str


class ItemList(BaseModel):
    items: list[ItemOut]
    next_cursor: str | None


class Upserted(BaseModel):
    new: int
    updated: int
    unchanged: int


_ITEM = {"type": "object", "required": ["type"], "properties": {
    "type": {"type": "string"}, "attributes": {"type": "object"},
    "title": {"type": ["string", "null"]}, "body": {"type": ["string", "null"]},
    "asset_ids": {"type": "array", "items": {"type": "string"}},
    "active_from": {"description": "ISO 8601 time with a zone, or epoch seconds"},
    "active_until": {"description": "ISO 8601 time with a zone, or epoch seconds"}}}
_BATCH_ITEM = {**_ITEM, "required": ["id", "type"],
               "properties": {"id": {"type": "string"}, **_ITEM["properties"]}}


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


_OUTCOME = {"X-Item-Outcome": {"description": "new, updated or unchanged",
                               "schema": {"type": "string"}}}


@router.put("/{item_id}", response_model=ItemOut, dependencies=[Depends(require("write"))],
            openapi_extra=_json(_ITEM),
            responses={200: {"description": "replaced, or unchanged", "headers": _OUTCOME},
                       201: {"model": ItemOut, "description": "created", "headers": _OUTCOME}})
async def put_item(item_id: str, request: Request, response: Response) -> ItemOut:
    """Create or replace the item; the same body again changes nothing (201 when new)."""
    record, outcome = service(request).upsert(project_of(request), item_id,
                                              await json_object(request))
    response.status_code = 201 if outcome == "new" else 200
    response.headers["X-Item-Outcome"] = outcome
    return ItemOut(**record.to_dict())


@router.post("", response_model=Upserted, dependencies=[Depends(require("write"))],
             openapi_extra=_json({"anyOf": [
                 {"type": "array", "maxItems": MAX_BATCH, "items": _BATCH_ITEM},
                 {"type": "object", "required": ["items"], "properties": {
                     "items": {"type": "array", "maxItems": MAX_BATCH, "items": _BATCH_ITEM}}}]}))
async def upsert_items(request: Request) -> Upserted:
    """Up to 10,000 items, as a JSON list or ``{"items": [...]}``: validated whole,
    written all or nothing; counts of new, updated and unchanged items."""
    try:
        data = await run_in_threadpool(json.loads, await request.body())
    except ValueError:
        raise InvalidInput("the body is not JSON") from None
    if isinstance(data, dict):
        if set(data) != {"items"}:
            raise InvalidInput('the body must be a JSON list of items or {"items": [...]}')
        data = data["items"]
    done = await run_in_threadpool(service(request).upsert_many, project_of(request), data)
    return Upserted(**done.counts())


@router.get("", response_model=ItemList, dependencies=[Depends(require("read"))])
def list_items(request: Request,
               type: str | None = Query(None, max_length=64),
               active: bool | None = Query(None, description="Only items active now (or not)."),
               limit: int = Query(100, ge=1, le=MAX_PAGE),
               cursor: str | None = Query(None, max_length=400)) -> ItemList:
    """By id; pass ``next_cursor`` back as ``cursor`` for the next page."""
    page = service(request).list(project_of(request), type=type, active=active, limit=limit,
                                 cursor=cursor)
    return ItemList(items=[ItemOut(**r.to_dict()) for r in page.items],
                    next_cursor=page.next_cursor)


@router.get("/{item_id}", response_model=ItemOut, dependencies=[Depends(require("read"))])
def get_item(item_id: str, request: Request) -> ItemOut:
    return ItemOut(**service(request).get(project_of(request), item_id).to_dict())


@router.delete("/{item_id}", status_code=204, dependencies=[Depends(require("write"))])
def delete_item(item_id: str, request: Request) -> Response:
    service(request).delete(project_of(request), item_id)
    return Response(status_code=204)
