"""``GET|HEAD /video/{token}/{asset_id}/{path}``: a video's renditions, HLS tree and
storyboard under one signed token (decision 021), with byte ranges for players.

A FastAPI route (not a raw ASGI app like /img): every answer streams from the blob
store, so routing costs little next to the bytes, and the route is in the OpenAPI
document as written. The token is the credential: no API key is read.
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import StreamingResponse

from vitrina.api.ranges import parse_range
from vitrina.delivery.cache import etag_matches
from vitrina.delivery.playback.files import PlaybackFiles
from vitrina.delivery.playback.service import PlaybackService, Resolved
from vitrina.delivery.playback.tokens import CONTENT_TYPES
from vitrina.errors import VitrinaError, error_parts
from vitrina.runtime import Runtime

PATH = "/video/{token}/{asset_id}/{path:path}"
#: players on other origins read these answers, errors included (hls.js reads Content-Range)
CORS = {"Access-Control-Allow-Origin": "*",
        "Access-Control-Expose-Headers": "Content-Length, Content-Range, Accept-Ranges, ETag"}
PREFLIGHT = {**CORS, "Access-Control-Allow-Methods": "GET, HEAD, OPTIONS",
             "Access-Control-Allow-Headers": "Range, If-Range, If-None-Match", "Access-Control-Max-Age": "86400"}

router = APIRouter(tags=["video"])
_ERROR = {"content": {"application/json": {}}}


@router.get(PATH, operation_id="get_video_file", summary="A file of a video: rendition, HLS playlist or segment, storyboard",
            responses={
                200: {"description": "the whole file",
                      "content": {mime: {} for mime in sorted(set(CONTENT_TYPES.values()))}},
                206: {"description": "the byte range asked for (Content-Range)"},
                304: {"description": "If-None-Match matched the ETag"},
                403: {"description": "bad_signature, expired_url, unknown_key, signature_required", **_ERROR},
                404: {"description": "not_found (no such video in the token's project) or file_not_found "
                                     "(a path that names none of its files)", **_ERROR},
                416: {"description": "range_not_satisfiable (Content-Range: bytes */size)", **_ERROR},
                503: {"description": "unavailable: a project's signing keys or the store cannot be read",
                      **_ERROR},
            })
async def video_file(token: str, asset_id: str, path: str, request: Request) -> Response:
    """`path` is relative to the asset's files (`hls/master.m3u8`, `h720w1280.mp4`,
    `hls/h720w1280.m4s`, `storyboard/storyboard.vtt`), so the relative URIs of a playlist
    resolve under the same token. The token is `{key_id}.{expires}.{mac}` (sign with
    `vitrina url --video` or `Client.video_url`), or `_` in development mode. Honours
    `Range` (one range), `If-Range`, `If-None-Match`; CORS allows every origin;
    `Cache-Control` never outlives the token."""
    return await _answer(request, token, asset_id, path)


@router.head(PATH, include_in_schema=False)
async def video_file_head(token: str, asset_id: str, path: str, request: Request) -> Response:
    return await _answer(request, token, asset_id, path)


@router.options(PATH, include_in_schema=False)
async def video_file_preflight() -> Response:
    """CORS preflight: a player sending Range or If-Range from another origin asks first."""
    return Response(status_code=204, headers=PREFLIGHT)


async def _answer(request: Request, token: str, asset_id: str, path: str) -> Response:
    service: PlaybackService = request.app.state.playback
    try:
        resolved = await service.resolve(token, asset_id, path)
        return await _respond(request, service, resolved)
    except VitrinaError as exc:  # the one error body, readable by players on other origins
        status, headers, body = error_parts(exc)
        return Response(body, status, headers={**dict(headers), **CORS})


async def _respond(request: Request, service: PlaybackService, resolved: Resolved) -> Response:
    stored = resolved.file
    common = {"ETag": stored.etag, "Cache-Control": resolved.cache_control, **CORS}
    inm = request.headers.get("if-none-match")
    if inm is not None and etag_matches(inm.encode("latin-1"), stored.etag.encode()):
        return Response(status_code=304, headers=common)
    headers = {"Accept-Ranges": "bytes", "X-Content-Type-Options": "nosniff", **common}
    span = None
    # Range is defined for GET only (RFC 9110 14.2): a HEAD answers as a whole GET would
    if request.method == "GET" and _if_range_holds(request.headers.get("if-range"), stored.etag):
        span = parse_range(request.headers.get("range"), stored.size)  # 416 when unsatisfiable
    start, end = span or (0, stored.size)
    headers["Content-Length"] = str(end - start)
    if span is not None:
        headers["Content-Range"] = f"bytes {start}-{end - 1}/{stored.size}"
    status = 200 if span is None else 206
    if request.method != "GET":
        return Response(status_code=status, headers=headers, media_type=resolved.content_type)
    body = await service.open(resolved, start, end)
    return StreamingResponse(body, status_code=status, headers=headers, media_type=resolved.content_type)


def _if_range_holds(if_range: str | None, etag: str) -> bool:
    """RFC 9110 13.1.5: a Range counts when If-Range is absent or names the current ETag
    (strong comparison); a date or another tag asks for the whole file (no Last-Modified
    is sent, so no date can match)."""
    return if_range is None or if_range.strip() == etag


def install(app: FastAPI, runtime: Runtime) -> PlaybackService:
    """Serve /video on ``app``; tokens are verified with the image service's keys."""
    files = PlaybackFiles(runtime.sessions, runtime.settings.delivery.asset_ttl_seconds)
    service = PlaybackService(runtime.images, files, runtime.store, runtime.usage_meter)
    app.state.playback = service
    app.include_router(router)
    return service
