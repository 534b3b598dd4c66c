"""/v1/assets: upload, read, list, delete, download."""

from __future__ import annotations

import base64

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import StreamingResponse
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from starlette.concurrency import run_in_threadpool

from vitrina.api.deps import get_runtime, require
from vitrina.api.multipart import boundary_of, read_file_field
from vitrina.api.ranges import parse_range
from vitrina.api.schemas import AssetList, AssetOut, asset_out, derivative_name
from vitrina.delivery.cache import results_prefix
from vitrina.errors import InvalidInput, NotFound
from vitrina.ids import is_id
from vitrina.runtime import Runtime
from vitrina.storage.catalog.db import transaction
from vitrina.storage.catalog.models import Asset, Original

router = APIRouter(prefix="/v1/assets", tags=["assets"])
LOAD = (selectinload(Asset.derivatives), selectinload(Asset.signals), selectinload(Asset.step_runs))


def _base_url(request: Request, rt: Runtime) -> str:
    return rt.settings.public_base_url.rstrip("/") or str(request.base_url).rstrip("/")


def load_asset(rt: Runtime, asset_id: str) -> Asset:
    if not is_id(asset_id):
        raise NotFound(f"no asset {asset_id[:64]!r}", details={"id": asset_id[:64]})
    with rt.sessions() as s:
        asset = s.get(Asset, asset_id, options=LOAD)
    if asset is None:
        raise NotFound(f"no asset {asset_id}", details={"id": asset_id})
    return asset


@router.post("", response_model=AssetOut, status_code=201,
             responses={200: {"description": "the same bytes were already stored: the existing asset"}},
             dependencies=[Depends(require("write"))])
async def upload(request: Request, response: Response) -> AssetOut:
    """Upload one file as multipart/form-data (field ``file``); streamed, never held in memory."""
    rt = get_runtime(request)
    ingestor = request.app.state.ingestor
    boundary = boundary_of(request.headers.get("content-type"))
    declared = request.headers.get("content-length")
    declared_size = int(declared) if declared and declared.isdigit() else None
    with ingestor.stage(declared_size) as staged:
        filename = await read_file_field(request.stream(), boundary, staged)
        result = await run_in_threadpool(ingestor.commit, staged, filename=filename,
                                         idempotency_key=request.headers.get("idempotency-key"))
    response.status_code = 201 if result.created else 200
    response.headers["Location"] = f"/v1/assets/{result.asset_id}"
    asset = await run_in_threadpool(load_asset, rt, result.asset_id)
    return asset_out(asset, _base_url(request, rt))


@router.get("", response_model=AssetList, dependencies=[Depends(require("read"))])
def list_assets(
    request: Request,
    status: str | None = Query(None, pattern="^(pending|processing|ready|failed)$"),
    kind: str | None = Query(None, pattern="^(image|video)$"),
    mime: str | None = Query(None, max_length=100),
    limit: int = Query(50, ge=1, le=500),
    cursor: str | None = Query(None, max_length=200),
) -> AssetList:
    """Newest first; pass ``next_cursor`` back as ``cursor`` for the next page."""
    rt = get_runtime(request)
    query = select(Asset).options(*LOAD).order_by(Asset.id.desc()).limit(limit + 1)
    if cursor:
        query = query.where(Asset.id < _decode_cursor(cursor))
    for column, value in ((Asset.status, status), (Asset.kind, kind), (Asset.mime, mime)):
        if value is not None:
            query = query.where(column == value)
    with rt.sessions() as s:
        rows = list(s.scalars(query))
    more = len(rows) > limit
    rows = rows[:limit]
    base = _base_url(request, rt)
    next_cursor = base64.urlsafe_b64encode(rows[-1].id.encode()).decode() if more else None
    return AssetList(items=[asset_out(a, base) for a in rows], next_cursor=next_cursor)


def _decode_cursor(cursor: str) -> str:
    try:
        value = base64.urlsafe_b64decode(cursor.encode()).decode()
    except (ValueError, UnicodeDecodeError):  # binascii.Error is a ValueError
        value = ""
    if not is_id(value):
        raise InvalidInput("cursor is not one this API gave out", code="invalid_cursor")
    return value


@router.get("/{asset_id}", response_model=AssetOut, dependencies=[Depends(require("read"))])
def get_asset(asset_id: str, request: Request) -> AssetOut:
    rt = get_runtime(request)
    return asset_out(load_asset(rt, asset_id), _base_url(request, rt))


@router.delete("/{asset_id}", status_code=204, dependencies=[Depends(require("write"))])
def delete_asset(asset_id: str, request: Request) -> Response:
    """Delete the asset, its rows and its files (catalog first: a crash leaves only unreferenced blobs)."""
    rt = get_runtime(request)
    asset = load_asset(rt, asset_id)
    with transaction(rt.sessions) as s:
        row = s.get(Asset, asset.id)
        if row is not None:
            s.delete(row)
            s.flush()
            s.delete(s.get(Original, asset.sha256))
    for d in asset.derivatives:
        rt.store.delete(d.blob_key)
    rt.store.delete(asset.original.blob_key)
    for key in list(rt.store.keys(results_prefix(asset.sha256))):  # cached /img results
        rt.store.delete(key)
    return Response(status_code=204)


def _stream(rt: Runtime, request: Request, key: str, size: int, mime: str, etag: str,
            cache_control: str) -> Response:
    headers = {"Accept-Ranges": "bytes", "ETag": f'"{etag}"', "Cache-Control": cache_control}
    if request.headers.get("if-none-match") == f'"{etag}"':
        return Response(status_code=304, headers=headers)
    span = parse_range(request.headers.get("range"), size)
    if span is None:
        headers["Content-Length"] = str(size)
        return StreamingResponse(rt.store.open_range(key), media_type=mime, headers=headers)
    start, end = span
    headers.update({"Content-Range": f"bytes {start}-{end - 1}/{size}", "Content-Length": str(end - start)})
    return StreamingResponse(rt.store.open_range(key, start, end), status_code=206, media_type=mime,
                             headers=headers)


@router.get("/{asset_id}/original", dependencies=[Depends(require("read"))],
            responses={200: {"content": {"application/octet-stream": {}}}, 206: {"description": "a byte range"}})
def download_original(asset_id: str, request: Request) -> Response:
    """The original bytes as uploaded; honours ``Range`` and ``If-None-Match``."""
    rt = get_runtime(request)
    a = load_asset(rt, asset_id)
    return _stream(rt, request, a.original.blob_key, a.size_bytes, a.mime, a.sha256, "private, max-age=3600")


@router.get("/{asset_id}/derivatives/{name}", dependencies=[Depends(require("read"))],
            responses={200: {"content": {"image/webp": {}, "image/jpeg": {}, "image/avif": {}}}})
def download_derivative(asset_id: str, name: str, request: Request) -> Response:
    rt = get_runtime(request)
    a = load_asset(rt, asset_id)
    for d in a.derivatives:
        if derivative_name(d.width, d.format) == name:
            etag = f"{a.sha256[:32]}-{d.width}-{d.format}-{d.version}"
            return _stream(rt, request, d.blob_key, d.size_bytes, d.mime, etag, "private, max-age=86400")
    raise NotFound(f"asset {a.id} has no derivative {name[:40]!r}",
                   details={"available": [derivative_name(d.width, d.format) for d in a.derivatives]})
