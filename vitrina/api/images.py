"""``GET /img/{signature}/{ops}/{asset_id}``: a raw ASGI app, no framework on the way.

The hot path answers from the in-memory cache with one dict lookup, a clock read and
two sends: no parsing, no database. It still refuses an entry whose URL has expired,
whose signing key was removed or whose asset record (or, for a project's signing key,
the key set it was verified with) is older than its TTL; those go down the miss path
(:class:`vitrina.delivery.service.ImageService`), which verifies and answers as if
nothing was cached. Entries are keyed by the raw path, signature included: an answer
is only ever sent to the URL it was verified for, never to one signed by another key
(or another project's key, whose URLs the miss path answers 404 for other projects'
assets).

``create_app`` mounts this app at ``/img`` (for TestClient and ``/docs``); ``vitrina
serve`` runs :class:`Dispatcher`, which hands ``/img/`` paths straight to it.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI

from vitrina.api.metrics import Metrics
from vitrina.delivery.cache import NEGOTIATED, Prepared, etag_matches
from vitrina.delivery.errors import InvalidPath
from vitrina.delivery.limiter import TooBusy
from vitrina.delivery.service import ImageService
from vitrina.delivery.stats import DeliveryCollector
from vitrina.errors import MethodNotAllowed, VitrinaError, error_parts
from vitrina.projects.usage import IMAGE_BYTES_SERVED
from vitrina.runtime import Runtime

log = logging.getLogger("vitrina.api")
Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
PATH = "/img/{signature}/{ops}/{asset_id}"
_READ = ("GET", "HEAD")


class ImageApp:
    def __init__(self, service: ImageService, metrics: Metrics | None = None) -> None:
        self.service = service
        #: counts every answer in vitrina_http_requests_total (FastAPI's middleware never sees them)
        self.count = metrics.image_request if metrics is not None else _uncounted

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            if scope["type"] == "lifespan":
                await _lifespan(receive, send)
            return
        service = self.service
        raw: bytes = scope.get("raw_path") or scope["path"].encode()
        memory = service.memory
        if memory is not None and scope["method"] in _READ and not scope["query_string"]:
            entry = memory.get(raw)
            if entry is not None:
                accept, inm = _conditions(scope)
                if entry is NEGOTIATED:
                    entry = memory.get(raw + memory.bucket(accept))
                if (entry is not None and service.clock() < entry.valid_until
                        and entry.key_id in service.key_ids):  # fmt: skip
                    service.stats.memory_hits += 1
                    self._sent(scope, entry, await _send(send, scope, entry, inm, service))
                    return
        await self._miss(scope, raw, send)

    async def _miss(self, scope: Scope, raw: bytes, send: Send) -> None:
        service = self.service
        accept, inm = _conditions(scope)
        try:
            if scope["method"] not in _READ:
                raise MethodNotAllowed("Image URLs answer GET and HEAD only.", allow=_READ)
            if scope["query_string"]:
                raise InvalidPath("Image URLs take no query string: ops go in the path.",
                                  details={"part": "query"})  # fmt: skip
            answer, negotiated = await service.answer(
                raw.decode("latin-1"), accept.decode("latin-1") if accept else None, inm
            )
        except VitrinaError as exc:
            self.count(scope["method"], await _error(send, exc, service))
            return
        except Exception:
            log.exception("unhandled error on %s %s", scope["method"], raw[:200])
            crash = VitrinaError("internal error; it has been logged", code="internal", status=500)
            self.count(scope["method"], await _error(send, crash, service))
            return
        if answer.body:  # an empty body is a 304 made without the image
            service.remember(raw, accept, answer, negotiated)
        self._sent(scope, answer, await _send(send, scope, answer, inm, service))

    def _sent(self, scope: Scope, answer: Prepared, status: int) -> None:
        """Count an answer sent: the request, and the bytes its project served (a 304 or
        a HEAD serves none)."""
        self.count(scope["method"], status)
        usage = self.service.usage
        if usage is not None and status == 200 and scope["method"] == "GET":
            usage.add(answer.project, IMAGE_BYTES_SERVED, len(answer.body))


def _conditions(scope: Scope) -> tuple[bytes | None, bytes | None]:
    """The Accept and If-None-Match headers (the only ones the route reads)."""
    accept = inm = None
    for name, value in scope["headers"]:
        if name == b"accept":
            accept = value
        elif name == b"if-none-match":
            inm = value
    return accept, inm


async def _send(send: Send, scope: Scope, answer: Prepared, inm: bytes | None,
                service: ImageService) -> int:  # fmt: skip
    """Send ``answer`` (or a 304); the status sent."""
    if inm is not None and etag_matches(inm, answer.etag):
        service.stats.not_modified += 1
        await send({"type": "http.response.start", "status": 304, "headers": answer.not_modified})
        await send({"type": "http.response.body", "body": b""})
        return 304
    await send({"type": "http.response.start", "status": 200, "headers": answer.headers})
    body = b"" if scope["method"] == "HEAD" else answer.body
    await send({"type": "http.response.body", "body": body})
    return 200


async def _error(send: Send, exc: VitrinaError, service: ImageService) -> int:
    if not isinstance(exc, TooBusy):  # load shedding is counted where it happens
        service.stats.errors += 1
        if exc.report:
            log.error("image route: %s", exc.message)
    status, headers, body = error_parts(exc)
    raw = [(name.encode("latin-1"), value.encode("latin-1")) for name, value in headers]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})
    return status


def _uncounted(method: str, status: int) -> None:
    """No metrics registry: an image app built on its own (tests, embedding)."""


async def _lifespan(receive: Receive, send: Send) -> None:
    while (message := await receive())["type"] != "lifespan.shutdown":
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
    await send({"type": "lifespan.shutdown.complete"})


class Dispatcher:
    """The served app: ``/img/...`` straight to the image app, the rest to FastAPI.

    ``state`` is the FastAPI app's, so code holding the served app still reaches it.
    """

    def __init__(self, api: FastAPI, images: ImageApp) -> None:
        self.api, self.images, self.state = api, images, api.state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith("/img/"):
            await self.images(scope, receive, send)
        else:
            await self.api(scope, receive, send)


def install(app: FastAPI, runtime: Runtime) -> ImageApp:
    """Make the image app for ``app``: mounted at /img, in /docs, counted in /metrics."""
    service = runtime.images
    images = ImageApp(service, app.state.metrics)
    app.state.images = images
    app.mount("/img", images, name="images")
    app.state.metrics.registry.register(DeliveryCollector(service.stats, service.gauges))
    _document(app)
    return images


def _document(app: FastAPI) -> None:
    """Describe the mounted route in the OpenAPI schema (mounts are not listed)."""
    make_schema = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = make_schema()
            schema["paths"][PATH] = {"get": _OPERATION}
        return app.openapi_schema  # type: ignore[return-value]

    app.openapi = openapi  # type: ignore[method-assign]


def _param(name: str, text: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "string"},
            "description": text}  # fmt: skip


_ERROR = {"content": {"application/json": {"schema": {"type": "object"}}}}
_OPERATION: dict[str, Any] = {
    "tags": ["images"],
    "summary": "A transformed image",
    "description": (
        "Made on first request from the original and cached. `ops` is a comma list such as "
        "`w_400,h_300,c_fill,g_auto,f_auto` (see the README's Image URLs section); sign URLs "
        "with `vitrina url` or `Client.image_url`. Answers carry a strong ETag and "
        "`Cache-Control: public, max-age=31536000, immutable`; `Vary: Accept` only for `f_auto`."
    ),
    "operationId": "get_image",
    "parameters": [
        _param("signature", "`{key_id}.{mac}`, `{key_id}.{expires}.{mac}`, or `_` (development)"),
        _param("ops", "transformation, e.g. `w_400,h_300,c_fill`; `-` for none"),
        _param("asset_id", "the image asset"),
    ],
    "responses": {
        "200": {"description": "the image",
                "content": {m: {} for m in ("image/jpeg", "image/png", "image/webp", "image/avif")}},
        "304": {"description": "If-None-Match matched the ETag"},
        "400": {"description": "invalid_op, op_out_of_range, invalid_path", **_ERROR},
        "403": {"description": "bad_signature, expired_url, unknown_key, signature_required",
                **_ERROR},
        "404": {"description": "no such image asset in the signing key's project (another "
                               "project's asset answers the same)", **_ERROR},
        "503": {"description": "too_busy, render_timeout, or unavailable (a project's signing "
                               "keys cannot be read); see Retry-After", **_ERROR},
    },
}  # fmt: skip
