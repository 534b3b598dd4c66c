"""/v1/uploads: resumable uploads over tus 1.0 (decision 017).

Core (OPTIONS, HEAD, PATCH) with the creation, creation-with-upload, termination,
expiration and checksum extensions. Every answer but OPTIONS carries ``Tus-Resumable``;
errors keep the API's JSON body. The final PATCH answers with the asset it became in
``Vitrina-Asset-Id`` and ``Vitrina-Asset-Location``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import APIRouter, Depends, Request, Response
from starlette.concurrency import run_in_threadpool

from vitrina.api.deps import get_runtime, project_of, require
from vitrina.api.errors import error_response
from vitrina.api.metrics import CREATED, DUPLICATE, REJECTED
from vitrina.errors import NotFound, VitrinaError
from vitrina.runtime import Runtime
from vitrina.uploads import protocol as tus
from vitrina.uploads.service import Appended, Upload

router = APIRouter(prefix="/v1/uploads", tags=["uploads"])
PATH = "/v1/uploads"
#: errors of the protocol, not of the file: no ingest was tried
_NOT_INGEST = (tus.OffsetMismatch, tus.ChecksumMismatch, tus.UploadGone, NotFound)


def _header(name: str, description: str, *, required: bool = False, **schema: object) -> dict[str, object]:
    return {"name": name, "in": "header", "required": required, "description": description,
            "schema": {"type": "string", **schema}}


def _errors(*statuses: int) -> dict[int | str, dict[str, object]]:
    """Error answers (the JSON error body, :mod:`vitrina.api.openapi` names its schema)."""
    meanings = {
        409: "upload_offset_mismatch (details.offset is the upload's), or the ingest's conflicts",
        410: "upload_expired: past Upload-Expires",
        412: "tus_version_unsupported: Tus-Resumable is not 1.0.0 (see Tus-Version)",
        413: "payload_too_large or upload_length_exceeded: over ingest.max_upload_bytes or past Upload-Length",
        415: "a chunk's Content-Type is not application/offset+octet-stream, or the file's type is refused",
        429: "a project's upload rate; see Retry-After",
        460: "checksum_mismatch: the chunk does not match Upload-Checksum and was discarded",
    }
    return {status: {"description": meanings[status], "content": {"application/json": {}}}
            for status in statuses}


TUS_RESUMABLE = _header("Tus-Resumable", "The protocol version: 1.0.0.", required=True)
#: a chunk's body (application/offset+octet-stream) is described in the operations, not
#: declared: OpenAPI tools have no serializer for that media type
CHUNK_HEADERS = [
    _header("Upload-Checksum", "'<algorithm> <base64 digest>' of this chunk: sha1, sha256 or md5."),
    _header("Idempotency-Key", "Used by the ingest when this chunk is the last one.", maxLength=255),
]
ASSET_HEADERS = {
    "Vitrina-Asset-Id": {"description": "after the last byte: the asset the upload became",
                         "schema": {"type": "string"}},
    "Vitrina-Asset-Location": {"description": "after the last byte: /v1/assets/{id}", "schema": {"type": "string"}},
}


def _capabilities(rt: Runtime) -> dict[str, str]:
    return {"Tus-Resumable": tus.TUS_VERSION, "Tus-Version": tus.TUS_VERSION,
            "Tus-Extension": ",".join(tus.EXTENSIONS),
            "Tus-Max-Size": str(rt.settings.ingest.max_upload_bytes),
            "Tus-Checksum-Algorithm": ",".join(tus.CHECKSUMS)}


async def _answer(request: Request, handle: Callable[[], Awaitable[Response]],
                  upload_id: str | None = None) -> Response:
    """``handle()``'s answer, or its error as JSON; either way with ``Tus-Resumable``.
    A missing upload, or another project's, is a 404 before the request's headers are
    looked at, so that any request about it answers as about one that never existed."""
    try:
        if upload_id is not None:
            await run_in_threadpool(_exists, request, upload_id)
        tus.check_version(request.headers.get("tus-resumable"))
        response = await handle()
    except VitrinaError as exc:
        response = error_response(exc)
        if isinstance(exc, tus.VersionUnsupported):
            response.headers["Tus-Version"] = tus.TUS_VERSION
    response.headers.update(tus.common_headers())
    return response


def _exists(request: Request, upload_id: str) -> None:
    try:
        get_runtime(request).uploads.get(project_of(request), upload_id)
    except tus.UploadGone:
        pass  # it exists: the route answers 410 (or removes it)


def _state(upload: Upload) -> dict[str, str]:
    headers = {"Upload-Offset": str(upload.offset), "Upload-Expires": tus.http_date(upload.expires_at)}
    return headers


async def _receive(request: Request, upload: Upload) -> Appended:
    """Stream the body into a staged chunk and append it (in a thread: the store and
    the catalog block)."""
    rt = get_runtime(request)
    checksum = tus.parse_checksum(request.headers.get("upload-checksum"))
    with rt.uploads.chunk_writer(upload, checksum) as chunk:
        async for data in request.stream():
            if data:
                chunk.write(data)
        try:
            return await run_in_threadpool(rt.uploads.append, project_of(request), upload.id, upload.offset,
                                           chunk, request.headers.get("idempotency-key"))
        except VitrinaError as exc:
            last = upload.offset + chunk.size == upload.length
            if last and exc.status < 500 and not isinstance(exc, _NOT_INGEST):
                request.app.state.metrics.ingest(REJECTED)  # the file was refused, as a multipart one would be
            raise


def _finished(request: Request, appended: Appended, response: Response) -> Response:
    response.headers.update(_state(appended.upload))
    if appended.asset is not None:
        request.app.state.metrics.ingest(CREATED if appended.asset.created else DUPLICATE)
        response.headers["Vitrina-Asset-Id"] = appended.asset.asset_id
        response.headers["Vitrina-Asset-Location"] = f"/v1/assets/{appended.asset.asset_id}"
        response.headers["Vitrina-Asset-Created"] = "true" if appended.asset.created else "false"
    return response


@router.options("", status_code=204, response_class=Response,
                responses={204: {"description": "Tus-Version, Tus-Extension, Tus-Max-Size, "
                                                 "Tus-Checksum-Algorithm"}})
async def options(request: Request) -> Response:
    """What this server speaks: version, extensions, largest upload, checksums."""
    return Response(status_code=204, headers=_capabilities(get_runtime(request)))


@router.post("", status_code=201, response_class=Response, dependencies=[Depends(require("write"))],
             responses={201: {"description": "created; Location is the upload's URL",
                              "headers": {"Location": {"schema": {"type": "string"}}, **ASSET_HEADERS}},
                        **_errors(409, 412, 413, 415, 429, 460)},
             openapi_extra={"parameters": [
                 TUS_RESUMABLE,
                 _header("Upload-Length", "The whole file's size in bytes.", required=True, pattern="^[0-9]{1,18}$"),
                 _header("Upload-Metadata", "Comma-separated 'key base64(value)'; 'filename' names the asset."),
                 *CHUNK_HEADERS]})
async def create(request: Request) -> Response:
    """Create an upload (``Upload-Length``, ``Upload-Metadata`` with ``filename``); a
    body typed ``application/offset+octet-stream`` is its first chunk (creation-with-upload)."""

    async def handle() -> Response:
        rt = get_runtime(request)
        if "upload-defer-length" in request.headers:
            raise VitrinaError("Upload-Defer-Length is not supported: send Upload-Length",
                               code="invalid_tus_header")
        length = tus.non_negative("Upload-Length", request.headers.get("upload-length"))
        meta = tus.parse_metadata(request.headers.get("upload-metadata"))
        has_body = request.headers.get("content-length", "0") != "0" or "transfer-encoding" in request.headers
        if has_body:
            tus.check_chunk_type(request.headers.get("content-type"))
            tus.parse_checksum(request.headers.get("upload-checksum"))  # a malformed one refuses before creating
        upload = await run_in_threadpool(rt.uploads.create, project_of(request), length, meta)
        base = rt.settings.public_base_url.rstrip("/") or str(request.base_url).rstrip("/")
        response = Response(status_code=201, headers={"Location": f"{base}{PATH}/{upload.id}"})
        if not has_body and length > 0:
            response.headers.update(_state(upload))
            return response
        try:
            appended = await _receive(request, upload)
        except VitrinaError:  # the client has no Location to resume with: nothing is kept
            await run_in_threadpool(rt.uploads.discard, upload.id)
            raise
        return _finished(request, appended, response)

    return await _answer(request, handle)


@router.head("/{upload_id}", response_class=Response, dependencies=[Depends(require("write"))],
             responses={200: {"description": "Upload-Offset, Upload-Length, Upload-Metadata, Upload-Expires"},
                        **_errors(410, 412)},
             openapi_extra={"parameters": [TUS_RESUMABLE]})
async def head(upload_id: str, request: Request) -> Response:
    """The upload's offset, length, metadata and expiry."""

    async def handle() -> Response:
        upload = await run_in_threadpool(get_runtime(request).uploads.get, project_of(request), upload_id)
        headers = {**_state(upload), "Upload-Length": str(upload.length)}
        if upload.meta:
            headers["Upload-Metadata"] = tus.format_metadata(upload.meta)
        return Response(status_code=200, headers=headers)

    return await _answer(request, handle, upload_id)


@router.patch("/{upload_id}", status_code=204, response_class=Response,
              dependencies=[Depends(require("write"))],
              responses={204: {"description": "stored; Upload-Offset is the new offset",
                               "headers": ASSET_HEADERS},
                         **_errors(409, 410, 412, 413, 415, 429, 460)},
              openapi_extra={"parameters": [
                  TUS_RESUMABLE,
                  _header("Upload-Offset", "Where this chunk starts: the offset HEAD answers.", required=True,
                          pattern="^[0-9]{1,18}$"),
                  *CHUNK_HEADERS]})
async def patch(upload_id: str, request: Request) -> Response:
    """Append the body (``application/offset+octet-stream``) at ``Upload-Offset``; the
    last byte ingests the file, as ``POST /v1/assets`` does, and answers its refusals
    (415, 422 ``corrupt_media`` or ``media_too_large``, 413, 429)."""

    async def handle() -> Response:
        rt = get_runtime(request)
        tus.check_chunk_type(request.headers.get("content-type"))
        offset = tus.non_negative("Upload-Offset", request.headers.get("upload-offset"))
        tus.parse_checksum(request.headers.get("upload-checksum"))
        upload = await run_in_threadpool(rt.uploads.get, project_of(request), upload_id)
        if offset != upload.offset:
            raise tus.OffsetMismatch("Upload-Offset is not the upload's offset: ask with HEAD",
                                     details={"offset": upload.offset})
        return _finished(request, await _receive(request, upload), Response(status_code=204))

    return await _answer(request, handle, upload_id)


@router.delete("/{upload_id}", status_code=204, response_class=Response,
               dependencies=[Depends(require("write"))], responses=_errors(412),
               openapi_extra={"parameters": [TUS_RESUMABLE]})
async def terminate(upload_id: str, request: Request) -> Response:
    """Stop the upload and remove its bytes."""

    async def handle() -> Response:
        await run_in_threadpool(get_runtime(request).uploads.terminate, project_of(request), upload_id)
        return Response(status_code=204)

    return await _answer(request, handle, upload_id)
