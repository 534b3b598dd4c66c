"""Every error leaves as ``{"error": {"code", "message", "details"}}``; no stack traces."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from vitrina.errors import VitrinaError

log = logging.getLogger("vitrina.api")

HTTP_CODES = {404: "not_found", 405: "method_not_allowed", 401: "unauthorized", 403: "forbidden"}


def error_response(exc: VitrinaError, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(exc.to_dict(), status_code=exc.status, headers=headers)


def install(app: FastAPI) -> None:
    @app.exception_handler(VitrinaError)
    async def _vitrina(request: Request, exc: VitrinaError) -> JSONResponse:
        if exc.report:
            log.error("%s %s: %s", request.method, request.url.path, exc.message)
        headers = {"Retry-After": "1"} if exc.status in (429, 503) else None
        if exc.status == 416 and "size" in exc.details:
            headers = {"Content-Range": f"bytes */{exc.details['size']}"}
        return error_response(exc, headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [{"loc": list(e["loc"]), "msg": e["msg"]} for e in exc.errors()]
        return error_response(VitrinaError("the request is not valid", code="invalid_input",
                                           details={"problems": problems}))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = HTTP_CODES.get(exc.status_code, "http_error")
        return error_response(VitrinaError(str(exc.detail), code=code, status=exc.status_code))

    @app.exception_handler(Exception)
    async def _crash(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return error_response(VitrinaError("internal error; it has been logged", code="internal", status=500))
