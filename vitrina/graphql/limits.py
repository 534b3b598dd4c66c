"""What a query may ask for, checked before it runs: its size in tokens (while it is
parsed), its cost (an estimate of the records it would make the server load) and its
depth. Each refusal has a stable code (``query_too_large``, ``query_too_deep``,
``query_too_costly``) and answers 400 with nothing run.

The cost of a field is its weight plus, when it has a selection, the cost of that
selection times the field's page size (its ``limit`` or ``k`` argument, else its
default; a variable counts as the largest page). Aliases and fragments count as often
as they are used, so neither can hide work from the estimate.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import partial

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
)
from strawberry.extensions import MaxTokensLimiter, QueryDepthLimiter
from strawberry.extensions.base_extension import SchemaExtension
from strawberry.extensions.query_depth_limiter import IgnoreContext

#: the longest query text (a screen's query is a few kilobytes; the token limit stops
#: the parser long before this)
MAX_QUERY_CHARS = 64 * 1024
#: tokens a document may hold (a hand-written query for a whole screen is a few hundred)
MAX_TOKENS = 2_000
#: fields nested in fields below the root field, introspection aside: the deepest query
#: the schema allows (collections.items.assets.items.signals.colours.hex) and no deeper,
#: so that a field added later cannot open a path of unbounded nesting
MAX_DEPTH = 6
#: a page of 500 assets with every field of theirs fits; two such pages do not
MAX_COST = 25_000
#: the page size counted for a ``limit`` or ``k`` given as a variable
LARGEST_PAGE = 500
#: page sizes of the fields that answer pages, when no ``limit`` (``k``) is given
DEFAULT_PAGES = {"assets": 50, "search": 20, "similar": 10, "collections": 50, "experiments": 100,
                 "recommendations": 10, "creatives": 100}
#: fields that do more than read rows (each weighs this many plain fields)
WEIGHTS = {"results": 100, "search": 50, "similar": 20, "recommendations": 20}


def extensions() -> list[Callable[[], SchemaExtension]]:
    """Factories: the schema makes each extension anew for every request. The cost
    comes before validation: a document whose fragments multiply (each spreading the
    previous one twice) is refused in time linear in its size, before the depth rule
    and the standard rules walk every expansion of it."""
    return [partial(MaxTokensLimiter, max_token_count=MAX_TOKENS), CostLimiter,
            partial(QueryDepthLimiter, max_depth=MAX_DEPTH, should_ignore=_introspection)]


def _introspection(field: IgnoreContext) -> bool:
    return field.field_name.startswith("__")


class CostLimiter(SchemaExtension):
    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        document = context.graphql_document
        if document is not None and context.pre_execution_errors is None:
            costs = Costs(document)
            refusals = [too_costly(operation, cost) for operation, cost in costs.operations() if cost > MAX_COST]
            if refusals:
                context.pre_execution_errors = refusals  # no other rule runs over this document
        yield


def too_costly(operation: OperationDefinitionNode, cost: int) -> GraphQLError:
    return GraphQLError(f"the query would cost {cost}, over the limit of {MAX_COST}: ask for smaller pages "
                        "or fewer fields", operation,
                        extensions={"code": "query_too_costly", "details": {"cost": cost, "max_cost": MAX_COST}})


class Costs:
    """The cost of each operation of a document (see the module's docstring)."""

    def __init__(self, document: DocumentNode) -> None:
        self.definitions = document.definitions
        self.fragments = {d.name.value: d for d in self.definitions if isinstance(d, FragmentDefinitionNode)}
        self.fragment_costs: dict[str, int] = {}

    def operations(self) -> Iterator[tuple[OperationDefinitionNode, int]]:
        for operation in self.definitions:
            if isinstance(operation, OperationDefinitionNode):
                yield operation, self.cost(operation.selection_set, frozenset())

    def cost(self, selections: SelectionSetNode, fragments_open: frozenset[str]) -> int:
        total = 0
        for node in selections.selections:
            if isinstance(node, FieldNode):
                name = node.name.value
                total += WEIGHTS.get(name, 1)
                if node.selection_set is not None:
                    total += page_size(node) * self.cost(node.selection_set, fragments_open)
            elif isinstance(node, InlineFragmentNode):
                total += self.cost(node.selection_set, fragments_open)
            elif isinstance(node, FragmentSpreadNode):
                total += self.fragment_cost(node.name.value, fragments_open)
        return total

    def fragment_cost(self, name: str, fragments_open: frozenset[str]) -> int:
        """Each fragment is costed once (a fragment spread twice in each of many
        fragments would otherwise take exponential time); a cycle, or an unknown
        fragment, costs nothing here: the standard rules refuse them."""
        if name in fragments_open or name not in self.fragments:
            return 0
        if name not in self.fragment_costs:
            self.fragment_costs[name] = self.cost(self.fragments[name].selection_set, fragments_open | {name})
        return self.fragment_costs[name]


def page_size(node: FieldNode) -> int:
    name = node.name.value
    for argument in node.arguments or ():
        if argument.name.value in ("limit", "k"):
            digits = argument.value.value if isinstance(argument.value, IntValueNode) else ""
            if 0 < len(digits) <= 6:  # longer is over any page (and too long for int() to be cheap)
                return min(max(int(digits), 1), LARGEST_PAGE)
            return LARGEST_PAGE  # a variable: its value is not known yet
    return DEFAULT_PAGES.get(name, 1)
