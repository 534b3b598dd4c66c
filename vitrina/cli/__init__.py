"""The `vitrina` command: one group, a module per area."""

from __future__ import annotations

import click

from vitrina.errors import VitrinaError


class Commands(click.Group):
    """The command group; a VitrinaError a command does not handle itself ends it with
    ``code: message`` and exit status 1, never a traceback."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except VitrinaError as exc:
            raise click.ClickException(f"{exc.code}: {exc.message}") from None


@click.group(cls=Commands, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="vitrina")
def main() -> None:
    """Vitrina: ingest images, make derivatives and signals, serve them over HTTP.

    Settings come from VITRINA_* environment variables (see README); VITRINA_DEV=1 is
    development mode.
    """


def _register() -> None:
    from vitrina.cli import (
        admin,
        assets,
        collections,
        creative,
        experiments,
        graphql,
        projects,
        recs,
        search,
        server,
        url,
        usage,
    )

    for module in (server, assets, collections, search, admin, projects, url, experiments, usage,
                   recs, creative, graphql):
        for command in module.COMMANDS:
            main.add_command(command)
    assets.assets.add_command(search.similar)
    from vitrina.cli import (
        creative_results,
        recs_evaluate,
        recs_keywords,
        recs_report,
        recs_verdicts,
    )

    for command in creative_results.COMMANDS:
        creative.creative.add_command(command)

    for module in (recs_evaluate, recs_verdicts, recs_report, recs_keywords):
        for command in module.COMMANDS:
            recs.recs.add_command(command)

    from vitrina.cli import webhooks

    for command in webhooks.COMMANDS:
        main.add_command(command)


_register()
