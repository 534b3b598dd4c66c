"""Every error leaves as ``{"error": {"code", "message", "details"}}``; no stack traces."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from vitrina.errors import MethodNotAllowed, VitrinaError, error_parts

log = logging.getLogger("vitrina.api")

HTTP_CODES = {404: "not_found", 405: "method_not_allowed", 401: "unauthorized", 403: "forbidden"}


def error_response(exc: VitrinaError) -> Response:
    """The answer to ``exc`` (:func:`vitrina.errors.error_parts`: status, headers, body)."""
    status, headers, body = error_parts(exc)
    return Response(body, status_code=status, headers=dict(headers))


def install(app: FastAPI) -> None:
    @app.exception_handler(VitrinaError)
    async def _vitrina(request: Request, exc: VitrinaError) -> Response:
        if exc.report:
            log.error("%s %s: %s", request.method, request.url.path, exc.message)
        return error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        problems = [{"loc": list(e["loc"]), "msg": e["msg"]} for e in exc.errors()]
        return error_response(VitrinaError("the request is not valid", code="invalid_input",
                                           details={"problems": problems}))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        allow = (exc.headers or {}).get("Allow")
        if exc.status_code == 405 and allow:
            return error_response(MethodNotAllowed(str(exc.detail), allow=allow.split(", ")))
        code = HTTP_CODES.get(exc.status_code, "http_error")
        return error_response(VitrinaError(str(exc.detail), code=code, status=exc.status_code))

    @app.exception_handler(Exception)
    async def _crash(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return error_response(VitrinaError("internal error; it has been logged", code="internal", status=500))
