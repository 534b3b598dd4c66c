"""/v1/assets: upload, read, list, edit user metadata, delete, download."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from vitrina.api.bodies import json_object
from vitrina.api.deps import get_runtime, project_of, require
from vitrina.api.metrics import CREATED, DUPLICATE, REJECTED
from vitrina.api.multipart import boundary_of, read_file_field
from vitrina.api.openapi import UPLOAD_REQUEST
from vitrina.api.ranges import parse_range
from vitrina.api.schemas import AssetList, AssetMetadataIn, AssetOut, asset_out, json_request
from vitrina.assets.records import MAX_PAGE, AssetPage, Download
from vitrina.assets.service import AssetService
from vitrina.assets.states import AssetStatus
from vitrina.errors import VitrinaError
from vitrina.projects.usage import DERIVATIVE_BYTES, ORIGINAL_BYTES
from vitrina.runtime import Runtime

router = APIRouter(prefix="/v1/assets", tags=["assets"])


def _base_url(request: Request, rt: Runtime) -> str:
    return rt.settings.public_base_url.rstrip("/") or str(request.base_url).rstrip("/")


@router.post("", response_model=AssetOut, status_code=201,
             responses={200: {"description": "the same bytes were already stored: the existing asset"}},
             openapi_extra=UPLOAD_REQUEST, dependencies=[Depends(require("write"))])
async def upload(request: Request, response: Response) -> AssetOut:
    """Upload one file as multipart/form-data (field ``file``); streamed, never held in memory."""
    rt = get_runtime(request)
    ingestor = rt.ingestor
    declared = request.headers.get("content-length")
    declared_size = int(declared) if declared and declared.isdigit() else None
    metrics = request.app.state.metrics
    try:
        boundary = boundary_of(request.headers.get("content-type"))
        with ingestor.stage(declared_size, project=project_of(request)) as staged:
            filename = await read_file_field(request.stream(), boundary, staged)
            result = await run_in_threadpool(ingestor.commit, staged, project=project_of(request),
                                             filename=filename,
                                             idempotency_key=request.headers.get("idempotency-key"))
    except VitrinaError as exc:
        if exc.status < 500:  # the client's upload was refused (limits, type, decoding, quota)
            metrics.ingest(REJECTED)
        raise
    metrics.ingest(CREATED if result.created else DUPLICATE)
    response.status_code = 201 if result.created else 200
    response.headers["Location"] = f"/v1/assets/{result.asset_id}"
    asset = await run_in_threadpool(rt.assets.get, project_of(request), result.asset_id)
    return asset_out(asset, _base_url(request, rt))


@router.get("", response_model=AssetList, dependencies=[Depends(require("read"))])
def list_assets(
    request: Request,
    status: str | None = Query(None, pattern=f"^({'|'.join(AssetStatus)})$"),
    kind: str | None = Query(None, pattern="^[a-z][a-z0-9_.+-]{0,15}$"),
    mime: str | None = Query(None, max_length=100),
    collection: str | None = Query(None, pattern="^[0-9a-f]{32}$",
                                   description="only assets in this collection (an unknown one: none)"),
    tag: str | None = Query(None, min_length=1, max_length=200, description="only assets with this user tag"),
    limit: int = Query(50, ge=1, le=MAX_PAGE),
    cursor: str | None = Query(None, max_length=200),
) -> AssetList:
    """Newest first; pass ``next_cursor`` back as ``cursor`` for the next page."""
    rt = get_runtime(request)
    page = rt.assets.list(project_of(request), status=None if status is None else AssetStatus(status), kind=kind,
                          mime=mime, collection=collection, tag=tag, limit=limit, cursor=cursor)
    return asset_list(request, page)


def asset_list(request: Request, page: AssetPage) -> AssetList:
    base = _base_url(request, get_runtime(request))
    return AssetList(items=[asset_out(a, base) for a in page.items], next_cursor=page.next_cursor)


@router.get("/{asset_id}", response_model=AssetOut, dependencies=[Depends(require("read"))])
def get_asset(asset_id: str, request: Request) -> AssetOut:
    rt = get_runtime(request)
    return asset_out(rt.assets.get(project_of(request), asset_id), _base_url(request, rt))


@router.patch("/{asset_id}", response_model=AssetOut, openapi_extra=json_request(AssetMetadataIn),
              dependencies=[Depends(require("write"))])
async def edit_asset(asset_id: str, request: Request) -> AssetOut:
    """Edit the user metadata: title, alt_text, tags (replaced), fields (merged; null
    deletes a key). A missing member stays; ``invalid_metadata`` names the one at fault."""
    body = await json_object(request)
    rt = get_runtime(request)
    record = await run_in_threadpool(rt.assets.update_metadata, project_of(request), asset_id, body)
    return asset_out(record, _base_url(request, rt))


@router.delete("/{asset_id}", status_code=204, dependencies=[Depends(require("write"))])
def delete_asset(asset_id: str, request: Request) -> Response:
    """Delete the asset, its rows and its files (catalog first: a crash leaves only unreferenced blobs)."""
    get_runtime(request).assets.delete(project_of(request), asset_id)
    return Response(status_code=204)


def _stream(assets: AssetService, request: Request, download: Download, cache_control: str,
            metric: str) -> Response:
    etag = f'"{download.etag}"'
    headers = {"Accept-Ranges": "bytes", "ETag": etag, "Cache-Control": cache_control,
               "X-Content-Type-Options": "nosniff"}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    size = download.size_bytes
    span = parse_range(request.headers.get("range"), size)
    usage = get_runtime(request).usage_meter  # bytes answered, counted for the project's usage
    usage.add(project_of(request), metric, size if span is None else span[1] - span[0])
    if span is None:
        headers["Content-Length"] = str(size)
        return StreamingResponse(assets.open(download), media_type=download.mime, headers=headers)
    start, end = span
    headers.update({"Content-Range": f"bytes {start}-{end - 1}/{size}", "Content-Length": str(end - start)})
    return StreamingResponse(assets.open(download, start, end), status_code=206, media_type=download.mime,
                             headers=headers)


@router.get("/{asset_id}/original", dependencies=[Depends(require("read"))],
            responses={200: {"content": {"application/octet-stream": {}}}, 206: {"description": "a byte range"}})
def download_original(asset_id: str, request: Request) -> Response:
    """The original bytes as uploaded; honours ``Range`` and ``If-None-Match``."""
    assets = get_runtime(request).assets
    return _stream(assets, request, assets.original(project_of(request), asset_id), "private, max-age=3600",
                   ORIGINAL_BYTES)


@router.get("/{asset_id}/derivatives/{name}", dependencies=[Depends(require("read"))],
            responses={200: {"content": {"image/webp": {}, "image/jpeg": {}, "image/avif": {}}}})
def download_derivative(asset_id: str, name: str, request: Request) -> Response:
    assets = get_runtime(request).assets
    return _stream(assets, request, assets.derivative(project_of(request), asset_id, name),
                   "private, max-age=86400", DERIVATIVE_BYTES)
