"""The schema: the root query and mutations under the limits; its SDL is checked in
as docs/schema.graphql (``vitrina graphql schema --output docs/schema.graphql``)."""

from __future__ import annotations

from typing import Any

import strawberry
from graphql import GraphQLError

from vitrina.graphql.limits import extensions
from vitrina.graphql.mutations import Mutation
from vitrina.graphql.queries import Query


class Schema(strawberry.Schema):
    def process_errors(self, errors: list[GraphQLError], execution_context: Any = None) -> None:
        """Nothing: a refused query is the client's business, and what failed inside a
        resolver is logged once, where its code is chosen (:mod:`.errors`)."""


def build_schema() -> Schema:
    return Schema(query=Query, mutation=Mutation, extensions=extensions())


def schema_text() -> str:
    """The schema in SDL, as the checked-in file holds it."""
    return build_schema().as_str() + "\n"
