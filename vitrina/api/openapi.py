"""The OpenAPI document as the API really behaves, and /docs and /redoc with no network.

FastAPI's generated schema is finished here, once per app:

- every error answer refers to one ``ErrorBody`` schema (``{"error": {"code", "message",
  "details"}}``, :mod:`vitrina.errors`); FastAPI's 422 ``HTTPValidationError`` is gone,
  since validation errors answer 400 ``invalid_input``;
- each operation lists the statuses it answers, from the table below (by path and
  method: authentication adds 401/403, a path id 404, a body or a query 400...);
- the ``/v1`` routes carry the bearer and ``X-API-Key`` security schemes;
- models that routes document without validating through them (experiment
  definitions and plans) are added to the components.

Swagger UI and ReDoc are served from the files of the ``fastapi-offline`` wheel
(decision 014): the pages reference same-origin URLs only.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from importlib.resources import files
from typing import Any

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from pydantic import BaseModel
from starlette.staticfiles import StaticFiles

ERROR_REF = {"$ref": "#/components/schemas/ErrorBody"}
#: ``{MODEL_REF: "Name"}`` in a field's schema becomes a $ref to the component ``Name``
#: (for bodies documented by a model they are not validated through)
MODEL_REF = "x-vitrina-model"
ERROR_BODY: dict[str, Any] = {
    "title": "ErrorBody",
    "type": "object",
    "required": ["error"],
    "properties": {"error": {
        "type": "object",
        "required": ["code", "message", "details"],
        "properties": {
            "code": {"type": "string", "description": "stable, machine-readable: invalid_input, not_found..."},
            "message": {"type": "string", "description": "public; says what to do"},
            "details": {"type": "object", "additionalProperties": True},
        },
    }},
    "description": "Every error answer of the API (vitrina.errors).",
}
#: what each status means, by the codes it carries
MEANINGS = {
    400: "invalid_input (details.problems) or another stable 4xx code for bad input",
    401: "unauthorized: an API key is required (Authorization: Bearer vk_... or X-API-Key)",
    403: "forbidden: the API key lacks the scope named in details.needed",
    404: "not_found: no such record in the caller's project (another project's answers the same)",
    405: "method_not_allowed (see Allow)",
    409: "a conflict with the stored state (the code names it)",
    413: "payload_too_large, or over one of the project's quotas (quota_bytes_exceeded, "
         "quota_assets_exceeded)",
    415: "unsupported_media_type: the bytes are none of the accepted types (details.accepted)",
    416: "range_not_satisfiable (see Content-Range)",
    422: "corrupt_media or media_too_large: the file cannot be decoded or breaks a limit",
    429: "too_many_requests or a project rate (upload_rate_exceeded, render_rate_exceeded); "
         "see Retry-After",
    503: "unavailable: a store or the catalog cannot be reached now; see Retry-After",
}
AUTH = (401, 403)
UPLOAD_REQUEST: dict[str, Any] = {
    "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
        "type": "object", "required": ["file"],
        "properties": {"file": {"type": "string", "format": "binary",
                                "description": "the file; its type is decided by its bytes"}},
    }}}},
    "parameters": [{
        "name": "Idempotency-Key", "in": "header", "required": False,
        "schema": {"type": "string", "maxLength": 255},
        "description": "Retry-safe uploads: the same key with the same bytes answers the first "
                       "upload's asset; with other bytes, 409.",
    }],
}
#: statuses beyond the table's rules, by (method, path template); :func:`finish` refuses
#: an entry that names no operation, so a renamed route cannot leave a stale one behind
EXTRA: dict[tuple[str, str], tuple[int, ...]] = {
    ("post", "/v1/assets"): (409, 413, 415, 422, 429, 503),
    ("get", "/v1/assets/{asset_id}/original"): (416, 503),
    ("get", "/v1/assets/{asset_id}/derivatives/{name}"): (416, 503),
    ("delete", "/v1/assets/{asset_id}"): (503,),
    ("post", "/v1/experiments"): (409,),
    ("put", "/v1/experiments/{key}"): (409,),
    ("get", "/v1/experiments/{key}/results"): (409,),
    ("get", "/v1/experiments/{key}/results.png"): (409,),
    ("post", "/v1/exposures"): (413,),
    ("post", "/v1/events"): (413,),
    ("post", "/v1/projects"): (409,),
    ("delete", "/v1/projects/{project_id}"): (409,),
    ("get", "/img/{signature}/{ops}/{asset_id}"): (405, 429),
    ("get", "/v1/recommendations"): (404,),  # no_model: nothing promoted in the project yet
}
#: answers the routes cannot declare themselves (plain-text metrics, readiness's own body)
ANSWERS: dict[tuple[str, str], dict[str, Any]] = {
    ("get", "/metrics"): {"200": {"description": "Prometheus text exposition",
                                  "content": {"text/plain": {"schema": {"type": "string"}}}}},
    ("get", "/readyz"): {"503": {"description": "a check failed: the same body, status unavailable",
                                 "content": {"application/json": {"schema": {"type": "object"}}}}},
}
_PATH_PARAM = re.compile(r"{[^}]+}")


def statuses(method: str, path: str, operation: dict[str, Any]) -> set[int]:
    """The error statuses an operation answers: the table's rules plus :data:`EXTRA`."""
    found: set[int] = set()
    if path.startswith("/v1/"):
        found.update(AUTH)
    if _PATH_PARAM.search(path) and path.startswith("/v1/"):
        found.add(404)
    has_input = bool(operation.get("requestBody")) or any(
        p.get("in") == "query" for p in operation.get("parameters", []))
    if has_input or path == "/v1/assets" and method == "post":
        found.add(400)
    found.update(EXTRA.get((method, path), ()))
    return found


def finish(schema: dict[str, Any], models: Iterable[type[BaseModel]] = ()) -> dict[str, Any]:
    """Finish FastAPI's ``schema`` in place (see the module's docstring)."""
    paths = schema.get("paths", {})
    stale = sorted(set(EXTRA) - {(m, p) for p, item in paths.items() for m in item})
    if stale:
        raise RuntimeError(f"vitrina.api.openapi.EXTRA names operations that do not exist: {stale}")
    components = schema.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    schemas["ErrorBody"] = ERROR_BODY
    for model in models:
        doc = model.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(doc.pop("$defs", {}))
        schemas[model.__name__] = doc
    _refer(schema)
    components["securitySchemes"] = {
        "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "vk_<id>_<secret>",
                   "description": "An API key (not needed in development mode)."},
        "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key",
                   "description": "The same API key, in a header of its own."},
    }
    for path, item in schema.get("paths", {}).items():
        for method, operation in item.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            responses = operation["responses"]
            responses.pop("422", None)
            responses.update(ANSWERS.get((method, path), {}))
            for status in sorted(statuses(method, path, operation)):
                entry = responses.setdefault(str(status), {})
                entry.setdefault("description", MEANINGS[status])
                entry["content"] = {"application/json": {"schema": ERROR_REF}}
            for status, entry in responses.items():  # hand-written error entries (the image route)
                if status[0] in "45" and "content" in entry:
                    entry["content"] = {"application/json": {"schema": ERROR_REF}}
            if path.startswith("/v1/"):
                operation["security"] = [{"bearer": []}, {"apiKey": []}]
    return schema


def _refer(node: Any) -> None:
    """Turn each ``{MODEL_REF: name}`` under ``node`` into a $ref to that component."""
    if isinstance(node, dict):
        name = node.pop(MODEL_REF, None)
        if name is not None:
            node["$ref"] = f"#/components/schemas/{name}"
        for value in node.values():
            _refer(value)
    elif isinstance(node, list):
        for value in node:
            _refer(value)


def install(app: FastAPI, models: Iterable[type[BaseModel]] = ()) -> None:
    """Finish ``app``'s schema on first use, and serve /docs and /redoc offline."""
    make_schema = app.openapi
    models = tuple(models)
    finished: dict[str, dict[str, Any]] = {}

    def openapi() -> dict[str, Any]:
        if "schema" not in finished:
            finished["schema"] = finish(make_schema(), models)
            app.openapi_schema = finished["schema"]
        return finished["schema"]

    app.openapi = openapi  # type: ignore[method-assign]
    _docs(app)


#: where the pages' scripts and styles are served from (same origin)
STATIC = "/static/docs"


def _docs(app: FastAPI) -> None:
    app.mount(STATIC, StaticFiles(directory=str(files("fastapi_offline") / "static")), name="docs-static")
    title = f"{app.title} {app.version}"

    @app.get("/docs", include_in_schema=False)
    def swagger_ui(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_swagger_ui_html(openapi_url=f"{root}{app.openapi_url}", title=title,
                                   swagger_js_url=f"{root}{STATIC}/swagger-ui-bundle.js",
                                   swagger_css_url=f"{root}{STATIC}/swagger-ui.css",
                                   swagger_favicon_url=f"{root}{STATIC}/favicon.png")

    @app.get("/redoc", include_in_schema=False)
    def redoc(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_redoc_html(openapi_url=f"{root}{app.openapi_url}", title=title,
                              redoc_js_url=f"{root}{STATIC}/redoc.standalone.js",
                              redoc_favicon_url=f"{root}{STATIC}/favicon.png", with_google_fonts=False)
