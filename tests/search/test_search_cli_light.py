"""`vitrina` starts without numpy: the search command repeats two of the service's values."""

from __future__ import annotations

from vitrina.cli import search as cli
from vitrina.search import query, service


def test_the_cli_repeats_the_services_values() -> None:
    assert cli.MAX_LIMIT == query.MAX_LIMIT
    assert cli.SIMILAR_BY == service.SIMILAR_BY
