"""UI routes answer errors as pages, not JSON: a :class:`~vitrina.errors.VitrinaError`
becomes the error page with its status and stable code, and a missing sign-in sends
the browser to the login form (htmx requests through ``HX-Redirect``)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from urllib.parse import quote

from fastapi import APIRouter, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse
from fastapi.routing import APIRoute

from vitrina.errors import VitrinaError
from vitrina.ui.auth import LoginRequired
from vitrina.ui.templates import render


class UiRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Awaitable[Response]]:
        handle = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                return await handle(request)
            except RequestValidationError as exc:
                fields = sorted({str(e["loc"][-1]) for e in exc.errors()})
                return error_page(request, VitrinaError(
                    f"these values are not valid: {', '.join(fields)}", code="invalid_input",
                    details={"fields": fields}))
            except VitrinaError as exc:
                return error_page(request, exc)

        return route


def page_router() -> APIRouter:
    """A router for UI pages: errors as pages, no OpenAPI entries."""
    return APIRouter(route_class=UiRoute, include_in_schema=False)


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def error_page(request: Request, exc: VitrinaError) -> Response:
    if isinstance(exc, LoginRequired):
        target = "/login?next=" + quote(request.url.path + (f"?{request.url.query}" if request.url.query else ""))
        if is_htmx(request):
            return Response(status_code=204, headers={"HX-Redirect": target})
        if request.method == "GET":
            return RedirectResponse(target, status_code=303)
    template = "fragments/error.html" if is_htmx(request) else "error.html"
    return render(request, template, status=exc.status, error=exc)
