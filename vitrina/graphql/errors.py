"""GraphQL errors with the REST API's stable codes in ``extensions.code``.

A field that raised a :class:`VitrinaError` carries its code, message and details; any
other failure is ``internal``, logged, its text never sent. Errors of the request
itself (its syntax, its fields, its variables, the limits) carry codes of their own.
"""

from __future__ import annotations

import logging
from typing import Any

from graphql import GraphQLError, GraphQLSyntaxError

from vitrina.errors import VitrinaError

log = logging.getLogger("vitrina.graphql")

#: the query is not GraphQL
SYNTAX = "graphql_syntax_error"
#: the query names a field, argument or type the schema lacks, or a variable is wrong
INVALID = "graphql_invalid_query"
#: what the limits answer (see :mod:`vitrina.graphql.limits`)
TOO_LARGE, TOO_DEEP = "query_too_large", "query_too_deep"


def error_json(error: GraphQLError) -> dict[str, Any]:
    """One entry of a response's ``errors``."""
    code, message, details = _classify(error)
    entry: dict[str, Any] = {"message": message}
    if error.locations:
        entry["locations"] = [{"line": loc.line, "column": loc.column} for loc in error.locations]
    if error.path:
        entry["path"] = error.path
    entry["extensions"] = {"code": code, "details": details}
    return entry


def is_request_error(error: GraphQLError) -> bool:
    """Whether the request was refused before it ran (no field of it resolved)."""
    return error.path is None and not isinstance(_cause(error), Exception)


def _cause(error: GraphQLError) -> BaseException | None:
    """What a resolver raised; None for the schema's own refusals (a variable's value
    refused arrives wrapped in a second GraphQLError)."""
    while isinstance(error.original_error, GraphQLError):
        error = error.original_error
    return error.original_error


def _classify(error: GraphQLError) -> tuple[str, str, dict[str, Any]]:
    cause = _cause(error)
    if isinstance(cause, VitrinaError):
        if cause.report:
            log.error("graphql %s: %s", ".".join(map(str, error.path or ())), cause.message)
        return cause.code, cause.message, cause.details
    if cause is not None:
        log.error("graphql %s failed", ".".join(map(str, error.path or ())), exc_info=cause)
        return "internal", "internal error; it has been logged", {}
    own = error.extensions or {}
    if "code" in own:
        return own["code"], error.message, own.get("details", {})
    if isinstance(error, GraphQLSyntaxError):
        if "tokens" in error.message:  # MaxTokensLimiter stops the parser
            return TOO_LARGE, error.message, {}
        return SYNTAX, error.message, {}
    if "exceeds maximum operation depth" in error.message:  # QueryDepthLimiter's refusal
        return TOO_DEEP, error.message, {}
    return INVALID, error.message, {}
