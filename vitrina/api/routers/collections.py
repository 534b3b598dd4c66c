"""/v1/collections: named sets of the project's assets (decision 022)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request, Response

from vitrina.api.bodies import json_object
from vitrina.api.deps import get_runtime, project_of, require
from vitrina.api.routers.assets import asset_list
from vitrina.api.schemas import (
    AssetList,
    CollectionIn,
    CollectionList,
    CollectionOut,
    CollectionPatchIn,
    json_request,
)
from vitrina.assets.records import MAX_PAGE
from vitrina.collections.repository import CollectionRecord
from vitrina.collections.service import CollectionService, collection_changes

router = APIRouter(prefix="/v1/collections", tags=["collections"])
NAME_TAKEN = {409: {"description": "collection_name_taken: the project has a collection of that name",
                    "content": {"application/json": {}}}}


def service(request: Request) -> CollectionService:
    return CollectionService.of(get_runtime(request))


def out(c: CollectionRecord) -> CollectionOut:
    return CollectionOut(id=c.id, name=c.name, description=c.description, asset_count=c.asset_count,
                         created_at=c.created_at, updated_at=c.updated_at)


@router.post("", response_model=CollectionOut, status_code=201, responses=NAME_TAKEN,
             openapi_extra=json_request(CollectionIn), dependencies=[Depends(require("write"))])
async def create_collection(request: Request, response: Response) -> CollectionOut:
    values = collection_changes(await json_object(request), creating=True)
    created = service(request).create(project_of(request), values["name"] or "", values.get("description"))
    response.headers["Location"] = f"/v1/collections/{created.id}"
    return out(created)


@router.get("", response_model=CollectionList, dependencies=[Depends(require("read"))])
def list_collections(request: Request, limit: int = Query(50, ge=1, le=MAX_PAGE),
                     cursor: str | None = Query(None, max_length=200)) -> CollectionList:
    """Newest first; pass ``next_cursor`` back as ``cursor`` for the next page."""
    page = service(request).list(project_of(request), limit=limit, cursor=cursor)
    return CollectionList(items=[out(c) for c in page.items], next_cursor=page.next_cursor)


@router.get("/{collection_id}", response_model=CollectionOut, dependencies=[Depends(require("read"))])
def get_collection(collection_id: str, request: Request) -> CollectionOut:
    return out(service(request).get(project_of(request), collection_id))


@router.patch("/{collection_id}", response_model=CollectionOut, responses=NAME_TAKEN,
              openapi_extra=json_request(CollectionPatchIn), dependencies=[Depends(require("write"))])
async def edit_collection(collection_id: str, request: Request) -> CollectionOut:
    """Rename it or change its description; a missing member stays, a null description clears it."""
    body = await json_object(request)
    return out(service(request).update(project_of(request), collection_id, body))


@router.delete("/{collection_id}", status_code=204, dependencies=[Depends(require("write"))])
def delete_collection(collection_id: str, request: Request) -> Response:
    """Delete the collection; its assets stay."""
    service(request).delete(project_of(request), collection_id)
    return Response(status_code=204)


@router.get("/{collection_id}/assets", response_model=AssetList, dependencies=[Depends(require("read"))])
def list_collection_assets(collection_id: str, request: Request, limit: int = Query(50, ge=1, le=MAX_PAGE),
                           cursor: str | None = Query(None, max_length=200)) -> AssetList:
    """The collection's assets, newest first, paged like ``GET /v1/assets``."""
    project = project_of(request)
    collection = service(request).get(project, collection_id)
    page = get_runtime(request).assets.list(project, collection=collection.id, limit=limit, cursor=cursor)
    return asset_list(request, page)


@router.put("/{collection_id}/assets/{asset_id}", status_code=204, dependencies=[Depends(require("write"))])
def add_asset(collection_id: str, asset_id: str, request: Request) -> Response:
    """Put the asset in the collection; again changes nothing."""
    service(request).add(project_of(request), collection_id, asset_id)
    return Response(status_code=204)


@router.delete("/{collection_id}/assets/{asset_id}", status_code=204, dependencies=[Depends(require("write"))])
def remove_asset(collection_id: str, asset_id: str, request: Request) -> Response:
    """Take the asset out of the collection; not in it changes nothing."""
    service(request).remove(project_of(request), collection_id, asset_id)
    return Response(status_code=204)
