"""graphql: the GraphQL schema served at /graphql, in SDL."""

from __future__ import annotations

from pathlib import Path

import click


@click.group()
def graphql() -> None:
    """The GraphQL API's schema."""


@graphql.command()
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write it to this file (docs/schema.graphql is the checked-in copy) instead of printing it.")
def schema(output: Path | None) -> None:
    """Print the schema (SDL), or write it with --output."""
    from vitrina.graphql.schema import schema_text

    text = schema_text()
    if output is None:
        click.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        click.echo(f"wrote {output}")


COMMANDS = [graphql]
