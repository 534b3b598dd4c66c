"""ingest, assets: getting media in and looking at it."""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import click

from vitrina.assets.records import MAX_PAGE
from vitrina.assets.states import AssetStatus, StepState
from vitrina.cli.common import runtime_of
from vitrina.errors import VitrinaError
from vitrina.storage.catalog.projects import DEFAULT_PROJECT

PROJECT = click.option("--project", default=DEFAULT_PROJECT, show_default=True,
                       help="The project the assets belong to.")


def _collect(paths: tuple[str, ...], recursive: bool, suffixes: frozenset[str]) -> list[Path]:
    """The files named, and in directories the files of a registered media kind."""
    found: list[Path] = []
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            pattern = "**/*" if recursive else "*"
            found += sorted(f for f in p.glob(pattern) if f.is_file() and f.suffix.lower() in suffixes)
        elif p.is_file():
            found.append(p)
        else:
            raise click.BadParameter(f"{raw} does not exist", param_hint="PATH")
    return found


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@click.option("--recursive", "-r", is_flag=True, help="Walk directories recursively.")
@click.option("--process", "process_now", is_flag=True, help="Run the pipeline here until the new assets are done.")
@PROJECT
@click.pass_context
def ingest(ctx: click.Context, paths: tuple[str, ...], recursive: bool, process_now: bool, project: str) -> None:
    """Ingest files (and, in directories, the files of every enabled media kind)."""
    from tqdm import tqdm

    from vitrina.kinds import suffixes

    rt = runtime_of(ctx)
    files = _collect(paths, recursive, suffixes(rt.registries.kinds))
    ingestor = rt.ingestor
    outcome: Counter[str] = Counter()
    rejected: list[tuple[Path, str]] = []
    for path in tqdm(files, desc="ingest", unit="file", file=sys.stderr, disable=not files):
        try:
            result = ingestor.ingest_file(path, project=project)
            outcome["new" if result.created else "duplicate"] += 1
        except VitrinaError as exc:
            outcome["rejected"] += 1
            rejected.append((path, f"{exc.code}: {exc.message}"))
    for path, why in rejected:
        click.echo(f"rejected {path}: {why}", err=True)
    if process_now:
        process_until_idle(rt)
    click.echo(f"{len(files)} files: {outcome['new']} new, {outcome['duplicate']} duplicate, "
               f"{outcome['rejected']} rejected")
    if rejected:
        ctx.exit(1)


def process_until_idle(rt: Any) -> None:
    from tqdm import tqdm

    from vitrina.pipeline.worker import Worker

    unfinished = (StepState.PENDING, StepState.WAITING, StepState.RUNNING)
    todo = sum(n for state, n in rt.queue.depth().items() if state in unfinished)
    w = Worker(rt)
    with tqdm(total=todo, desc="process", unit="step", file=sys.stderr) as bar:
        while done := w.run_once():
            bar.update(done)


@click.group()
def assets() -> None:
    """Look at assets in the catalog."""


@assets.command("ls")
@click.option("--status", type=click.Choice([s.value for s in AssetStatus]))
@click.option("--limit", type=click.IntRange(1, MAX_PAGE), default=20, show_default=True)
@PROJECT
@click.pass_context
def assets_ls(ctx: click.Context, status: str | None, limit: int, project: str) -> None:
    """List the newest assets."""
    page = runtime_of(ctx).assets.list(project, status=None if status is None else AssetStatus(status),
                                       limit=limit)
    click.echo(f"{'id':32}  {'status':10}  {'mime':11}  {'size':>9}  {'w x h':>11}  filename")
    for a in page.items:
        dims = f"{a.width}x{a.height}" if a.width else "-"
        click.echo(f"{a.id:32}  {a.status:10}  {a.mime:11}  {a.size_bytes:>9}  {dims:>11}  {a.filename or ''}")


@assets.command("show")
@click.argument("asset_id")
@PROJECT
@click.pass_context
def assets_show(ctx: click.Context, asset_id: str, project: str) -> None:
    """Print one asset as the API gives it (JSON)."""
    from vitrina.assets.views import asset_json

    rt = runtime_of(ctx)
    try:
        asset = rt.assets.get(project, asset_id)
    except VitrinaError as exc:
        raise click.ClickException(exc.message)
    base = rt.settings.public_base_url.rstrip("/") or f"http://{rt.settings.server.host}:{rt.settings.server.port}"
    click.echo(json.dumps(asset_json(asset, base), indent=2))


COMMANDS = [ingest, assets]
