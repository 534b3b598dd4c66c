"""The schema: the root query and mutations under the limits; its SDL is checked in
as docs/schema.graphql (``vitrina graphql schema --output docs/schema.graphql``)."""

from __future__ import annotations

import asyncio
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.types import ExecutionResult
from strawberry.types.graphql import OperationType

from vitrina.graphql.limits import extensions
from vitrina.graphql.mutations import Mutation
from vitrina.graphql.queries import Query


class Schema(strawberry.Schema):
    def process_errors(self, errors: list[GraphQLError], execution_context: Any = None) -> None:
        """Nothing: a refused query is the client's business, and what failed inside a
        resolver is logged once, where its code is chosen (:mod:`.errors`)."""


def build_schema() -> Schema:
    return Schema(query=Query, mutation=Mutation, extensions=extensions())


def execute(schema: Schema, query: str, variables: dict[str, Any] | None, context: Any,
            operation: str | None, allowed: set[OperationType]) -> ExecutionResult:
    """Run one request to the end in an event loop of its own, on the calling thread (a
    worker's: resolvers block on the catalog, and a page of assets resolves thousands
    of fields, which must not hold the server's loop). The loop still lets the
    request's loaders gather every id asked for at one level into one call."""
    return asyncio.run(schema.execute(query, variable_values=variables, context_value=context,
                                      operation_name=operation, allowed_operation_types=allowed))


def schema_text() -> str:
    """The schema in SDL, as the checked-in file holds it."""
    return build_schema().as_str() + "\n"
