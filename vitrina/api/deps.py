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
    async def dependency(request: Request) -> Principal:
        rt = get_runtime(request)
        token = _token(request)
        if token is None:
            if rt.settings.dev:
                return DEV_PRINCIPAL
            raise Unauthorized("an API key is required: send 'Authorization: Bearer vk_...'")
        principal = await run_in_threadpool(verify_key, rt.sessions, token)
        if not principal.allows(scope):
            raise Forbidden(f"this API key lacks the '{scope}' scope", details={"needed": scope})
        return principal

    return dependency
