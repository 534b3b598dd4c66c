"""Who is looking at a page, and whether a form really comes from one (decision 040).

In development mode the UI is open, as the API is. Otherwise a page needs a session
(:mod:`vitrina.ui.sessions`), opened at ``/login`` with an API key; the session acts as
that key, so its scopes rule the UI as they rule the API.

Every state-changing request carries a CSRF token, as a form field ``csrf_token`` or an
``X-CSRF-Token`` header (htmx and the upload script send the header): the session's
token, or before any session (the login form, development mode) a random token the
browser also holds in a cookie (double submit). A cross-site page can make the browser
send the cookies but cannot read them, so it cannot echo the token.

:class:`SessionAuth` runs before the API's body limits: on UI routes it names the caller
(the session's key, the development principal or nobody), and it lets a session upload
through the tus endpoint ``/v1/uploads`` when the request echoes the session's token.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from fastapi import Request
from starlette.concurrency import run_in_threadpool
from starlette.requests import HTTPConnection
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Receive, Scope, Send

from vitrina.access.keys import DEV_PRINCIPAL, Principal
from vitrina.api.deps import PRINCIPAL_SCOPE_KEY, token_of
from vitrina.api.errors import error_response
from vitrina.errors import Forbidden, Unauthorized
from vitrina.storage.catalog.projects import DEFAULT_PROJECT
from vitrina.ui.sessions import UiSession

if TYPE_CHECKING:
    from vitrina.ui.context import Ui

SESSION_COOKIE = "vitrina_session"
#: the double-submit token of a browser without a session
CSRF_COOKIE = "vitrina_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
#: where :class:`SessionAuth` leaves the request's session (None: no live one)
SESSION_SCOPE_KEY = "vitrina.ui.session"
#: the caller of a UI page without a session, outside development mode: may do nothing
ANONYMOUS = Principal("anonymous", "not signed in", frozenset(), DEFAULT_PROJECT)
UPLOADS = "/v1/uploads"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class LoginRequired(Unauthorized):
    code = "login_required"


class CsrfFailed(Forbidden):
    code = "csrf_failed"


class SessionAuth:
    """ASGI middleware: names the caller of UI routes (``routes``) and of session uploads."""

    def __init__(self, app: ASGIApp, ui: Ui, routes: Sequence[BaseRoute]) -> None:
        self.app, self.ui, self.routes = app, ui, routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            if any(route.matches(scope)[0] != Match.NONE for route in self.routes):
                session = await self._session(scope)
                scope[SESSION_SCOPE_KEY] = session
                scope[PRINCIPAL_SCOPE_KEY] = (session.principal if session is not None
                                              else DEV_PRINCIPAL if self.ui.dev else ANONYMOUS)
            elif scope["path"].startswith(UPLOADS) and token_of(HTTPConnection(scope).headers) is None:
                session = await self._session(scope)
                if session is not None:  # else the API's own authentication answers
                    if scope["method"] not in SAFE_METHODS and not _echoes(
                            HTTPConnection(scope).headers.get(CSRF_HEADER), session.csrf_token):
                        await error_response(_csrf_failed())(scope, receive, send)
                        return
                    scope[PRINCIPAL_SCOPE_KEY] = session.principal
        await self.app(scope, receive, send)

    async def _session(self, scope: Scope) -> UiSession | None:
        token = HTTPConnection(scope).cookies.get(SESSION_COOKIE)
        if not token or self.ui.dev:
            return None
        return await run_in_threadpool(self.ui.sessions.find, token)


def session_of(request: Request) -> UiSession | None:
    return request.scope.get(SESSION_SCOPE_KEY)


def viewer(request: Request) -> Principal:
    """Dependency: the caller of a page; outside development mode a session is needed."""
    principal = request.scope.get(PRINCIPAL_SCOPE_KEY, ANONYMOUS)
    if principal is ANONYMOUS:
        raise LoginRequired("sign in with an API key to use this page")
    return principal


def allowed(scope: str) -> Callable[[Request], Principal]:
    """Dependency: the caller, who must hold ``scope`` (403 as in the API otherwise)."""

    def dependency(request: Request) -> Principal:
        principal = viewer(request)
        if not principal.allows(scope):
            raise Forbidden(f"your API key lacks the '{scope}' scope", details={"needed": scope})
        return principal

    return dependency


def csrf_token(request: Request) -> str:
    """The token this browser's forms must echo; a new double-submit token is set as a
    cookie by :func:`vitrina.ui.templates.render` when the browser holds none yet."""
    session = session_of(request)
    if session is not None:
        return session.csrf_token
    token = request.cookies.get(CSRF_COOKIE) or getattr(request.state, "new_csrf", None)
    if not token:
        token = request.state.new_csrf = secrets.token_urlsafe(32)
    return token


async def csrf_checked(request: Request) -> None:
    """Dependency of every state-changing UI route: 403 ``csrf_failed`` unless the
    request echoes its token (header, else form field)."""
    session = session_of(request)
    expected = session.csrf_token if session is not None else request.cookies.get(CSRF_COOKIE)
    sent = request.headers.get(CSRF_HEADER)
    if sent is None:
        sent = (await request.form()).get(CSRF_FIELD)
    if not _echoes(sent if isinstance(sent, str) else None, expected):
        raise _csrf_failed()


def _echoes(sent: str | None, expected: str | None) -> bool:
    return bool(sent and expected) and hmac.compare_digest(sent.encode(), expected.encode())


def _csrf_failed() -> CsrfFailed:
    return CsrfFailed("the form's security token is missing or stale: reload the page and try again")
