"""The checked-in schema is the live one, and the command prints it."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from vitrina.cli import main
from vitrina.graphql.schema import schema_text

CHECKED_IN = Path(__file__).resolve().parents[2] / "docs" / "schema.graphql"
REGENERATE = "vitrina graphql schema --output docs/schema.graphql"


def test_the_checked_in_schema_is_the_live_schema() -> None:
    assert CHECKED_IN.read_text(encoding="utf-8") == schema_text(), (
        f"docs/schema.graphql differs from the schema served at /graphql: run `{REGENERATE}` and commit it")


def test_the_command_prints_and_writes_it(tmp_path) -> None:
    printed = CliRunner().invoke(main, ["graphql", "schema"])
    assert printed.exit_code == 0 and printed.output == schema_text()
    assert "type Query {" in printed.output and "assets(" in printed.output
    target = tmp_path / "schema.graphql"
    written = CliRunner().invoke(main, ["graphql", "schema", "--output", str(target)])
    assert written.exit_code == 0 and target.read_text(encoding="utf-8") == schema_text()
