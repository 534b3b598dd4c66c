"""Request dependencies: the runtime and the caller's identity."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from vitrina.access.keys import DEV_PRINCIPAL, Principal, verify_key
from vitrina.errors import Forbidden, Unauthorized
from vitrina.runtime import Runtime


def get_runtime(request: Request) -> Runtime:
    return request.app.state.runtime


def _token(request: Request) -> str | None:
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip()
    return request.headers.get("x-api-key")


def require(scope: str) -> Callable[[Request], Principal]:
    """A dependency that authenticates the caller, checks ``scope`` and keeps the
    principal on the request (:func:`project_of` reads its project)."""

    async def dependency(request: Request) -> Principal:
        principal = await _authenticate(request)
        if not principal.allows(scope):
            raise Forbidden(f"this API key lacks the '{scope}' scope", details={"needed": scope})
        request.state.principal = principal
        return principal

    return dependency


async def _authenticate(request: Request) -> Principal:
    rt = get_runtime(request)
    token = _token(request)
    if token is None:
        if rt.settings.dev:
            return DEV_PRINCIPAL
        raise Unauthorized("an API key is required: send 'Authorization: Bearer vk_...'")
    return await run_in_threadpool(verify_key, rt.sessions, token)


def project_of(request: Request) -> str:
    """The project the authenticated caller acts in (set by :func:`require`)."""
    return request.state.principal.project_id
