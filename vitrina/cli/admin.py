"""keys, batch: administration over the whole catalog."""

from __future__ import annotations

import sys

import click

from vitrina.cli.assets import process_until_idle
from vitrina.cli.common import runtime_of
from vitrina.errors import VitrinaError
from vitrina.storage.catalog.projects import DEFAULT_PROJECT


@click.group()
def keys() -> None:
    """API keys: read < write < admin within the key's project; org manages every project."""


@keys.command("create")
@click.argument("name")
@click.option("--scope", "scopes", multiple=True, default=("read",), show_default=True,
              type=click.Choice(["read", "write", "admin", "org"]),
              help="Repeatable. org (organisation admin) only for keys of the default project.")
@click.option("--project", default=DEFAULT_PROJECT, show_default=True, metavar="ID",
              help="The project the key acts in.")
@click.pass_context
def keys_create(ctx: click.Context, name: str, scopes: tuple[str, ...], project: str) -> None:
    """Create a key; it is shown once."""
    from vitrina.access.keys import create_key

    try:
        click.echo(create_key(runtime_of(ctx).sessions, name, list(scopes), project))
    except VitrinaError as exc:
        raise click.ClickException(f"{exc.code}: {exc.message}") from None


@keys.command("ls")
@click.option("--project", default=None, metavar="ID",
              help="Only this project's keys (default: every project's).")
@click.pass_context
def keys_ls(ctx: click.Context, project: str | None) -> None:
    """List keys (never their secrets)."""
    from vitrina.access.keys import list_keys

    for k in list_keys(runtime_of(ctx).sessions, project):
        click.echo(f"{k.id}  {k.project_id:20}  {k.name:20}  {','.join(k.scopes):22}  "
                   f"{'revoked' if k.revoked_at else 'active'}")


@keys.command("revoke")
@click.argument("key_id")
@click.pass_context
def keys_revoke(ctx: click.Context, key_id: str) -> None:
    """Revoke a key by its id."""
    from vitrina.access.keys import revoke_key

    try:
        revoke_key(runtime_of(ctx).sessions, key_id)
    except VitrinaError as exc:
        raise click.ClickException(exc.message)
    click.echo(f"revoked {key_id}")


@click.group()
def batch() -> None:
    """Work over the whole catalog: stale results, reprocessing, backfills on a process
    pool or Ray (backfill, jobs, cancel), Parquet exports."""


@batch.command("stale")
@click.pass_context
def batch_stale(ctx: click.Context) -> None:
    """Count results made by an older version of their step or analyser."""
    from vitrina.pipeline.backfill import stale_analysers, stale_steps

    rt = runtime_of(ctx)
    steps, analysers = stale_steps(rt), stale_analysers(rt)
    if not steps and not analysers:
        click.echo("nothing is stale")
    for step, n in sorted(steps.items()):
        click.echo(f"step {step}: {n} stale")
    for name, n in sorted(analysers.items()):
        click.echo(f"analyser {name}: {n} stale")


@batch.command("reprocess")
@click.option("--step", default=None, help="Only this step (its stale runs are queued for workers).")
@click.option("--analyser", "analysers", multiple=True,
              help="Only this analyser (repeatable); its stale results are recomputed here, in batches.")
@click.option("--process", "process_now", is_flag=True, help="Run queued steps here instead of leaving them to workers.")
@click.pass_context
def batch_reprocess(ctx: click.Context, step: str | None, analysers: tuple[str, ...], process_now: bool) -> None:
    """Backfill: queue stale step runs again and recompute stale analyser results.

    A step whose version went up runs again on the workers; an analyser whose version
    went up (or that is new) runs here over the assets missing its current result,
    as many per call as its batch size, with a progress bar.
    """
    from tqdm import tqdm

    from vitrina.pipeline.backfill import backfill_analysers, count_backfill, requeue_stale

    rt = runtime_of(ctx)
    try:
        if not analysers:
            n = requeue_stale(rt, step)
            click.echo(f"queued {n} stale step runs")
            if process_now and n:
                process_until_idle(rt)
        if step is None:
            names = list(analysers) or None
            with tqdm(total=count_backfill(rt, names), desc="analyse", unit="asset", file=sys.stderr) as bar:
                written = backfill_analysers(rt, names, progress=bar.update)
            click.echo(f"recomputed {written} analyser results")
    except VitrinaError as exc:
        raise click.ClickException(exc.message) from None


COMMANDS = [keys, batch]


from vitrina.cli import backfills as _backfills  # batch backfill | jobs | cancel | export

_backfills.attach(batch)
