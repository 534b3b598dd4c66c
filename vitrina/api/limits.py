"""Request bodies: authenticate first, then cap, then check the JSON (decision 013).

A query string holding a NUL is refused first (``invalid_text``: no catalog can
look it up). For every request that carries a body, before one byte of it is read:

1. the caller is authenticated (a missing key in production, or a wrong one, is a 401);
2. the declared ``Content-Length`` is checked against the route's cap (413).

Then the body is read with the cap enforced on the stream as it arrives. JSON bodies
are read whole (they are small) and checked before any route parses them: text must
be UTF-8 without NUL characters or lone surrogates (``invalid_text``, which no catalog
can store) and nesting is at most :data:`MAX_JSON_DEPTH` (``json_too_deep``, before the
parser runs out of stack). Uploads stream through to their route, counted as they go.

The principal is left in the ASGI scope, where :func:`vitrina.api.deps.require` finds
it instead of verifying the key again.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from vitrina.api.deps import PRINCIPAL_SCOPE_KEY, authenticate, token_of
from vitrina.errors import InvalidInput, InvalidText, PayloadTooLarge, VitrinaError, error_parts
from vitrina.runtime import Runtime
from vitrina.uploads.protocol import TUS_VERSION

#: cap of a JSON body on any route not in :data:`ROUTES`
JSON_BODY_LIMIT = 1024 * 1024
#: cap of a log batch (10,000 items of a few hundred bytes)
LOG_BODY_LIMIT = 16 * 1024 * 1024
#: what a multipart upload may carry besides the file: part headers, boundaries, small fields
UPLOAD_OVERHEAD = 128 * 1024
#: cap of a PATCH of an asset's user metadata: every limit at its largest, escaped, fits
METADATA_BODY_LIMIT = 512 * 1024
#: cap of a collection's create or edit body (a name and a description)
COLLECTION_BODY_LIMIT = 64 * 1024
#: cap of an item batch (decision 029): 10,000 items of a couple of kilobytes
ITEMS_BODY_LIMIT = 32 * 1024 * 1024
#: cap of one item's PUT: every item limit at its largest, escaped, fits
ITEM_BODY_LIMIT = 128 * 1024
#: cap of a brand kit's PUT: its logo travels inside, as base64 (decision 034)
BRAND_KIT_BODY_LIMIT = 3 * 1024 * 1024
#: deepest nesting of arrays and objects in a JSON body
MAX_JSON_DEPTH = 64


@dataclass(frozen=True)
class BodyRule:
    #: largest body in bytes; ``None``: the upload limit (``ingest.max_upload_bytes``)
    limit: int | None = JSON_BODY_LIMIT
    #: JSON read whole and checked here; else streamed to the route, counted
    json: bool = True


DEFAULT_RULE = BodyRule()
#: (method, path) -> rule; every other route with a body gets :data:`DEFAULT_RULE`
ROUTES: dict[tuple[str, str], BodyRule] = {
    ("POST", "/v1/assets"): BodyRule(limit=None, json=False),
    ("POST", "/v1/events"): BodyRule(limit=LOG_BODY_LIMIT),
    ("POST", "/v1/exposures"): BodyRule(limit=LOG_BODY_LIMIT),
    ("POST", "/v1/uploads"): BodyRule(limit=None, json=False),  # creation-with-upload (decision 017)
    ("POST", "/v1/collections"): BodyRule(limit=COLLECTION_BODY_LIMIT),
    ("POST", "/v1/items"): BodyRule(limit=ITEMS_BODY_LIMIT),
}
#: (method, path prefix) -> rule, for routes with an id in their path
TUS_PREFIX = "/v1/uploads"
PREFIXES: dict[tuple[str, str], BodyRule] = {
    ("PATCH", f"{TUS_PREFIX}/"): BodyRule(limit=None, json=False),  # a tus chunk
    ("PATCH", "/v1/assets/"): BodyRule(limit=METADATA_BODY_LIMIT),  # user metadata (decision 022)
    ("PATCH", "/v1/collections/"): BodyRule(limit=COLLECTION_BODY_LIMIT),
    ("PUT", "/v1/items/"): BodyRule(limit=ITEM_BODY_LIMIT),
    ("PUT", "/v1/brand-kits/"): BodyRule(limit=BRAND_KIT_BODY_LIMIT),
}

#: a NUL in the query string, raw or percent-encoded: PostgreSQL refuses it in a parameter
_NUL_IN_QUERY = re.compile(rb"%00|\x00")
_RISKY_ESCAPE = re.compile(r"\\u(?:0000|[dD][89a-fA-F][0-9a-fA-F]{2})")
_BAD_TEXT = re.compile("[\x00\ud800-\udfff]")


class BodyLimits:
    """ASGI middleware applying the rules above to every HTTP request of ``app``."""

    def __init__(self, app: ASGIApp, runtime: Runtime) -> None:
        self.app, self.runtime = app, runtime

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if _NUL_IN_QUERY.search(scope.get("query_string", b"")):
            await _answer(send, InvalidText("the query string contains a NUL character, which no "
                                            "catalog can look up"), tus=scope["path"].startswith(TUS_PREFIX))
            return
        headers = Headers(scope=scope)
        rule = rule_for(scope["method"], scope["path"])
        limit = rule.limit if rule.limit is not None else \
            self.runtime.settings.ingest.max_upload_bytes + UPLOAD_OVERHEAD
        try:
            declared = _declared_length(headers)
            if declared == 0 or (declared is None and "transfer-encoding" not in headers):
                await self.app(scope, _capped(receive, limit), send)  # no body announced
                return
            if PRINCIPAL_SCOPE_KEY not in scope:  # the web UI's session may have named the caller (vitrina.ui)
                scope[PRINCIPAL_SCOPE_KEY] = await authenticate(self.runtime, token_of(headers))
            if declared is not None and declared > limit:
                raise _too_large(limit)
            if not rule.json:
                await self.app(scope, _capped(receive, limit), send)
                return
            body = await _read(receive, limit)
            if len(body) > 64 * 1024:  # a large batch: parse it off the event loop
                await run_in_threadpool(check_json, body)
            else:
                check_json(body)
        except VitrinaError as exc:
            await _answer(send, exc, tus=scope["path"].startswith(TUS_PREFIX))
            return
        await self.app(scope, _replay(body, receive), send)


def rule_for(method: str, path: str) -> BodyRule:
    rule = ROUTES.get((method, path.rstrip("/")))
    if rule is not None:
        return rule
    for (prefix_method, prefix), rule in PREFIXES.items():
        if method == prefix_method and path.startswith(prefix):
            return rule
    return DEFAULT_RULE


def check_json(body: bytes) -> None:
    """Refuse a body whose text no catalog can store or whose nesting is too deep; a
    body that is not JSON at all is left for its route to refuse."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidText("the body is not UTF-8 text") from None
    if "\x00" in text:
        raise InvalidText("the body contains a NUL character")
    risky = _RISKY_ESCAPE.search(text) is not None
    if not risky and text.count("[") + text.count("{") <= MAX_JSON_DEPTH:
        return  # no escaped NUL or surrogate, and too few brackets to nest too deep
    try:
        data = json.loads(text)
    except RecursionError:
        raise _too_deep() from None
    except ValueError:
        return
    _walk(data)


def _walk(data: Any) -> None:
    stack = [(data, 0)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, str):
            if _BAD_TEXT.search(node):
                raise InvalidText("text must not contain NUL characters or lone surrogates "
                                  "(\\u0000, \\ud800-\\udfff unpaired)")
        elif isinstance(node, (dict, list)):
            if depth >= MAX_JSON_DEPTH:
                raise _too_deep()
            if isinstance(node, dict):
                stack.extend((key, depth) for key in node)
                stack.extend((value, depth + 1) for value in node.values())
            else:
                stack.extend((value, depth + 1) for value in node)


def _too_deep() -> InvalidInput:
    return InvalidInput(f"JSON nested deeper than {MAX_JSON_DEPTH} levels",
                        code="json_too_deep", details={"max_depth": MAX_JSON_DEPTH})


def _too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(f"the body is over this route's limit of {limit} bytes",
                           details={"limit": limit})


def _declared_length(headers: Headers) -> int | None:
    value = headers.get("content-length")
    if value is None:
        return None
    value = value.strip()
    if not value.isascii() or not value.isdigit():
        raise InvalidInput("Content-Length must be a number of bytes", code="invalid_content_length")
    if len(value) > 18:
        return 10**18  # over any cap
    return int(value)


async def _read(receive: Receive, limit: int) -> bytes:
    body = bytearray()
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break  # the client went away: the route sees an empty body and the disconnect
        body += message.get("body", b"")
        if len(body) > limit:
            raise _too_large(limit)
        if not message.get("more_body", False):
            break
    return bytes(body)


def _capped(receive: Receive, limit: int) -> Receive:
    """``receive`` that raises 413 once more than ``limit`` bytes have arrived."""
    seen = 0

    async def capped() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                raise _too_large(limit)
        return message

    return capped


def _replay(body: bytes, receive: Receive) -> Receive:
    """``receive`` that gives ``body`` once, then whatever the client sends next."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


async def _answer(send: Send, exc: VitrinaError, *, tus: bool) -> None:
    status, headers, body = error_parts(exc)
    if tus:  # a tus client reads every answer of the upload routes by its protocol version
        headers = [*headers, ("Tus-Resumable", TUS_VERSION)]
    await send({"type": "http.response.start", "status": status,
                "headers": [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers]})
    await send({"type": "http.response.body", "body": body})
