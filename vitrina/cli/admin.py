"""keys, batch: administration over the whole catalog."""

from __future__ import annotations

import click

from vitrina.cli.assets import process_until_idle
from vitrina.cli.common import runtime_of
from vitrina.errors import VitrinaError


@click.group()
def keys() -> None:
    """API keys (scopes: read, write, admin)."""


@keys.command("create")
@click.argument("name")
@click.option("--scope", "scopes", multiple=True, default=("read",), show_default=True,
              type=click.Choice(["read", "write", "admin"]))
@click.pass_context
def keys_create(ctx: click.Context, name: str, scopes: tuple[str, ...]) -> None:
    """Create a key; it is shown once."""
    from vitrina.api.keys import create_key

    click.echo(create_key(runtime_of(ctx).sessions, name, list(scopes)))


@keys.command("ls")
@click.pass_context
def keys_ls(ctx: click.Context) -> None:
    """List keys (never their secrets)."""
    from vitrina.api.keys import list_keys

    for k in list_keys(runtime_of(ctx).sessions):
        click.echo(f"{k.id}  {k.name:20}  {k.scopes:18}  {'revoked' if k.revoked_at else 'active'}")


@keys.command("revoke")
@click.argument("key_id")
@click.pass_context
def keys_revoke(ctx: click.Context, key_id: str) -> None:
    """Revoke a key by its id."""
    from vitrina.api.keys import revoke_key

    try:
        revoke_key(runtime_of(ctx).sessions, key_id)
    except VitrinaError as exc:
        raise click.ClickException(exc.message)
    click.echo(f"revoked {key_id}")


@click.group()
def batch() -> None:
    """Work over the whole catalog: stale results, reprocessing."""


@batch.command("stale")
@click.pass_context
def batch_stale(ctx: click.Context) -> None:
    """Count results made by an older version of their step."""
    from vitrina.pipeline.backfill import stale_counts

    counts = stale_counts(runtime_of(ctx).sessions)
    if not counts:
        click.echo("nothing is stale")
    for step, n in sorted(counts.items()):
        click.echo(f"{step}: {n} stale")


@batch.command("reprocess")
@click.option("--step", default=None, help="Only this step.")
@click.option("--process", "process_now", is_flag=True, help="Run the work here instead of leaving it to workers.")
@click.pass_context
def batch_reprocess(ctx: click.Context, step: str | None, process_now: bool) -> None:
    """Queue stale step runs again (a backfill)."""
    from vitrina.pipeline.backfill import requeue_stale

    rt = runtime_of(ctx)
    n = requeue_stale(rt.sessions, step)
    click.echo(f"queued {n} stale step runs")
    if process_now and n:
        process_until_idle(rt)


COMMANDS = [keys, batch]
