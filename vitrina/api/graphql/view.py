"""GET and POST /graphql: the same keys and scopes as REST (``read`` to query, ``write``
for a mutation), the body capped like every JSON body (decision 013), the query run by
the schema with a context made for this request, errors with stable codes.

A request the schema refuses before running it (syntax, unknown fields, variables,
limits) answers 400 with its ``errors`` and, for REST clients, the first of them as
``error``; once it ran, 200 with whatever ``data`` and ``errors`` it has, as GraphQL
clients expect. A refused transport (no key, no JSON, no query) answers as REST does,
``{"error": {...}}``.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.types.graphql import OperationType

from vitrina.api.bodies import json_object
from vitrina.api.deps import get_runtime, require
from vitrina.api.routers import experiments
from vitrina.api.routers.assets import _base_url
from vitrina.errors import InvalidInput, MethodNotAllowed
from vitrina.graphql.context import Context
from vitrina.graphql.errors import error_json, is_request_error
from vitrina.graphql.limits import MAX_QUERY_CHARS
from vitrina.graphql.schema import build_schema, execute

PATH = "/graphql"

router = APIRouter(tags=["graphql"])
schema = build_schema()
_JSON = {"application/json": {}}
#: what the routes answer (vitrina.api.openapi documents each 4xx as an ErrorBody)
RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "the query ran: `data`, and `errors` (each with extensions.code) for the "
                         "fields that failed", "content": {"application/json": {"schema": {
                             "type": "object", "properties": {"data": {"type": ["object", "null"]},
                                                              "errors": {"type": "array"}}}}}},
    400: {"description": "refused before it ran: graphql_syntax_error, graphql_invalid_query, "
                         "query_too_large, query_too_deep, query_too_costly (`errors`, the first as "
                         "`error`), or a body that is not a GraphQL request", "content": _JSON},
    401: {"description": "unauthorized: an API key is required", "content": _JSON},
    403: {"description": "forbidden: the API key lacks the read scope", "content": _JSON},
    405: {"description": "method_not_allowed: a mutation needs POST", "content": _JSON},
    413: {"description": "payload_too_large: over the JSON body limit", "content": _JSON},
}


@router.get(PATH, dependencies=[Depends(require("read"))], responses=RESPONSES)
async def graphql_get(request: Request, query: str = Query(..., description="the GraphQL document"),
                      variables: str | None = Query(None, description="a JSON object"),
                      operation_name: str | None = Query(None, alias="operationName", max_length=256)
                      ) -> JSONResponse:
    """Run a query (mutations need POST)."""
    return await run(request, {"query": query, "variables": _json_variables(variables),
                               "operationName": operation_name}, {OperationType.QUERY})


@router.post(PATH, dependencies=[Depends(require("read"))], responses=RESPONSES,
             openapi_extra={"requestBody": {"required": True, "content": {"application/json": {"schema": {
                 "type": "object", "required": ["query"],
                 "properties": {"query": {"type": "string"}, "variables": {"type": "object"},
                                "operationName": {"type": "string"}}}}}}})
async def graphql_post(request: Request) -> JSONResponse:
    """Run a query or a mutation: ``{"query", "variables", "operationName"}``."""
    return await run(request, await json_object(request), {OperationType.QUERY, OperationType.MUTATION})


async def run(request: Request, body: dict[str, Any], allowed: set[OperationType]) -> JSONResponse:
    query, variables, operation = _checked(body)
    rt = get_runtime(request)
    context = Context(runtime=rt, principal=request.state.principal, base_url=_base_url(request, rt),
                      metrics=request.app.state.metrics, experiments=experiments.service(request))
    try:
        result = await run_in_threadpool(execute, schema, query, variables, context, operation, allowed)
    except InvalidOperationTypeError:
        raise MethodNotAllowed("a mutation needs POST", allow=["POST"]) from None
    except CannotGetOperationTypeError:
        raise InvalidInput("name the operation to run (operationName): the document holds none by that name "
                           "or several", code="graphql_invalid_query") from None
    answer: dict[str, Any] = {}
    errors = result.errors or []
    if errors:
        answer["errors"] = [error_json(e) for e in errors]
    refused = result.data is None and errors and all(is_request_error(e) for e in errors)
    if refused:
        first = answer["errors"][0]
        answer["error"] = {"code": first["extensions"]["code"], "message": first["message"],
                           "details": first["extensions"]["details"]}
    else:
        answer["data"] = result.data
    return JSONResponse(answer, status_code=400 if refused else 200)


def _checked(body: dict[str, Any]) -> tuple[str, dict[str, Any] | None, str | None]:
    query, variables, operation = body.get("query"), body.get("variables"), body.get("operationName")
    if not isinstance(query, str) or not query.strip():
        raise InvalidInput("query must be a GraphQL document", code="graphql_missing_query")
    if len(query) > MAX_QUERY_CHARS:
        raise InvalidInput(f"the query is over {MAX_QUERY_CHARS} characters", code="query_too_large",
                           details={"max_chars": MAX_QUERY_CHARS})
    if variables is not None and not isinstance(variables, dict):
        raise InvalidInput("variables must be a JSON object", details={"expected": "object"})
    if operation is not None and not isinstance(operation, str):
        raise InvalidInput("operationName must be a string")
    unknown = set(body) - {"query", "variables", "operationName", "extensions"}
    if unknown:
        raise InvalidInput("unknown members in the body", details={"unknown": sorted(unknown)[:10]})
    return query, variables, operation


def _json_variables(text: str | None) -> Any:
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        raise InvalidInput("variables must be a JSON object", details={"expected": "object"}) from None
