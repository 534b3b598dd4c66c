"""Signing in with an API key, once per browser, and signing out."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import Depends, Form, Query, Request, Response
from fastapi.responses import RedirectResponse
from starlette.concurrency import run_in_threadpool

from vitrina.errors import Forbidden, Unauthorized
from vitrina.ui.auth import SESSION_COOKIE, csrf_checked
from vitrina.ui.context import ui_of
from vitrina.ui.routing import page_router
from vitrina.ui.templates import is_https, render

router = page_router()
#: where a sign-in may send the browser next: a path of this site, never another site
_LOCAL = re.compile(r"^/(?![/\\])[\x21-\x7e]{0,1000}$")


def _next(value: str | None) -> str:
    return value if value and _LOCAL.match(value) else "/"


@router.get("/login")
def login_form(request: Request, next: str | None = Query(None, max_length=1000)) -> Response:
    if ui_of(request).dev:  # development mode is open: there is nobody to sign in as
        return RedirectResponse("/", status_code=303)
    return render(request, "login.html", next=_next(next), failure=None)


@router.post("/login", dependencies=[Depends(csrf_checked)])
async def login(request: Request, api_key: Annotated[str, Form(max_length=600)],
                next: Annotated[str, Form(max_length=1000)] = "/") -> Response:
    """Open a session acting as ``api_key``; a wrong key shows the form again (401)."""
    ui = ui_of(request)
    if ui.dev:
        return RedirectResponse("/", status_code=303)
    try:
        token, _ = await run_in_threadpool(ui.sessions.login, api_key.strip())
    except (Unauthorized, Forbidden) as exc:
        return render(request, "login.html", status=exc.status, next=_next(next), failure=exc.message)
    response = RedirectResponse(_next(next), status_code=303)
    response.set_cookie(SESSION_COOKIE, token, max_age=int(ui.sessions.lifetime.total_seconds()),
                        httponly=True, samesite="lax", secure=is_https(request), path="/")
    return response


@router.post("/logout", dependencies=[Depends(csrf_checked)])
async def logout(request: Request) -> Response:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        await run_in_threadpool(ui_of(request).sessions.logout, token)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax", secure=is_https(request))
    return response
