"""Request dependencies: the runtime and the caller's identity."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from vitrina.access.keys import DEV_PRINCIPAL, Principal, verify_key
from vitrina.errors import Forbidden, Unauthorized
from vitrina.runtime import Runtime

#: where :mod:`vitrina.api.limits` leaves the principal it authenticated before reading a body
PRINCIPAL_SCOPE_KEY = "vitrina.principal"
#: what a key can look like on the wire (printable ASCII); anything else is refused unread
_TOKEN = re.compile(r"^[\x21-\x7e]{1,512}$")


def get_runtime(request: Request) -> Runtime:
    return request.app.state.runtime


def token_of(headers: Mapping[str, str]) -> str | None:
    """The API key the request carries (``Authorization: Bearer`` or ``X-API-Key``), if any."""
    auth = headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip()
    return headers.get("x-api-key")


def require(scope: str) -> Callable[[Request], Principal]:
    """A dependency that authenticates the caller, checks ``scope`` and keeps the
    principal on the request (:func:`project_of` reads its project)."""

    async def dependency(request: Request) -> Principal:
        principal = request.scope.get(PRINCIPAL_SCOPE_KEY)
        if principal is None:  # once per request, whichever dependency asks first
            principal = await authenticate(get_runtime(request), token_of(request.headers))
            request.scope[PRINCIPAL_SCOPE_KEY] = principal
        if not principal.allows(scope):
            raise Forbidden(f"this API key lacks the '{scope}' scope", details={"needed": scope})
        request.state.principal = principal
        return principal

    return dependency


async def authenticate(rt: Runtime, token: str | None) -> Principal:
    """The caller ``token`` names; none is needed in development mode only."""
    if token is None:
        if rt.settings.dev:
            return DEV_PRINCIPAL
        raise Unauthorized("an API key is required: send 'Authorization: Bearer vk_...'")
    if not _TOKEN.match(token):
        raise Unauthorized("malformed API key: expected vk_<id>_<secret>")
    return await run_in_threadpool(verify_key, rt.sessions, token)


def project_of(request: Request) -> str:
    """The project the authenticated caller acts in (set by :func:`require`)."""
    return request.state.principal.project_id
