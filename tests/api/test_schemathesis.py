"""Property-based run over the app's own OpenAPI: every operation, bounded examples, on
SQLite and PostgreSQL; no 5xx, and every answer conforms to its documented schema."""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from vitrina.api.app import create_app

#: examples per operation: keeps the run (every operation, both databases) near a minute
EXAMPLES = 8
#: no 5xx, and status, content type and body as documented (development mode answers
#: without API keys on purpose, so the authentication checks are tests/api/test_auth.py's)
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]
SEEN: list[int] = []


def counted(ctx, response, case) -> None:
    """Records every answer checked, so the test can tell the checks ran."""
    SEEN.append(response.status_code)


def test_every_operation_answers_as_documented(runtime):
    app = create_app(runtime.settings, start_workers=False)
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    for item in schema.raw_schema["paths"].values():  # development mode: no keys needed
        for operation in item.values():
            operation.pop("security", None)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 25
    SEEN.clear()
    for operation in operations:
        _check(operation)
    assert len(SEEN) >= len(operations) and max(SEEN) < 500


def _check(operation) -> None:
    @given(operation.as_strategy())
    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    def run(case):
        case.call_and_validate(checks=[*CHECKS, counted])

    run()
