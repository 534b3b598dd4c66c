"""The `vitrina` command."""

from __future__ import annotations

import json
import multiprocessing
import signal
import sys
import threading
from collections import Counter
from pathlib import Path
from typing import Any

import click

from vitrina import logs
from vitrina.config import Settings, load_settings
from vitrina.errors import VitrinaError

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".gif", ".avif", ".heic", ".heif", ".tif", ".tiff"}


def _settings(ctx: click.Context) -> Settings:
    if ctx.obj is None:
        try:
            ctx.obj = load_settings()
        except VitrinaError as exc:
            raise click.ClickException(f"{exc.message}\nFix the setting (environment VITRINA_* or the config file) and retry.")
    return ctx.obj


def _runtime(ctx: click.Context):  # noqa: ANN202
    from vitrina.runtime import Runtime

    try:
        return Runtime(_settings(ctx))
    except VitrinaError as exc:
        raise click.ClickException(exc.message)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="vitrina")
def main() -> None:
    """Vitrina: ingest images, make derivatives and signals, serve them over HTTP.

    Settings come from VITRINA_* environment variables (see README); VITRINA_DEV=1 is
    development mode.
    """


@main.command()
@click.option("--host", default=None, help="Interface to bind (default from VITRINA_HOST, 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Port (default from VITRINA_PORT, 8000).")
@click.option("--workers", "http_workers", type=int, default=None, help="HTTP worker processes.")
@click.pass_context
def serve(ctx: click.Context, host: str | None, port: int | None, http_workers: int | None) -> None:
    """Run the HTTP API (with pipeline workers in-process unless VITRINA_INPROCESS_WORKERS=0)."""
    import uvicorn

    s = _settings(ctx)
    logs.setup()
    host, port, n = host or s.host, port or s.port, http_workers or s.http_workers
    click.echo(f"Vitrina on http://{host}:{port}  (API docs: http://{host}:{port}/docs)", err=True)
    uvicorn.run("vitrina.api.app:app_from_env", factory=True, host=host, port=port, workers=n,
                log_config=None, access_log=False)


def _worker_process(index: int) -> None:
    from vitrina.pipeline.worker import Worker, worker_name
    from vitrina.runtime import Runtime

    logs.setup()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    Worker(Runtime(load_settings()), worker_name(index)).run_forever(stop)


@main.command()
@click.option("--processes", "-n", type=int, default=1, show_default=True, help="Worker processes to run.")
@click.pass_context
def worker(ctx: click.Context, processes: int) -> None:
    """Claim and run pipeline steps until stopped (SIGTERM finishes the current step)."""
    _settings(ctx)
    if processes <= 1:
        _worker_process(0)
        return
    spawn = multiprocessing.get_context("spawn")
    procs = [spawn.Process(target=_worker_process, args=(i,), name=f"vitrina-worker-{i}") for i in range(processes)]
    for p in procs:
        p.start()
    signal.signal(signal.SIGTERM, lambda *_: [p.terminate() for p in procs])
    for p in procs:
        p.join()


def _collect(paths: tuple[str, ...], recursive: bool) -> list[Path]:
    found: list[Path] = []
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            pattern = "**/*" if recursive else "*"
            found += sorted(f for f in p.glob(pattern) if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES)
        elif p.is_file():
            found.append(p)
        else:
            raise click.BadParameter(f"{raw} does not exist", param_hint="PATH")
    return found


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@click.option("--recursive", "-r", is_flag=True, help="Walk directories recursively.")
@click.option("--process", "process_now", is_flag=True, help="Run the pipeline here until the new assets are done.")
@click.pass_context
def ingest(ctx: click.Context, paths: tuple[str, ...], recursive: bool, process_now: bool) -> None:
    """Ingest files (and image files in directories) into the catalog."""
    from tqdm import tqdm

    from vitrina.pipeline.ingest import Ingestor

    rt = _runtime(ctx)
    files = _collect(paths, recursive)
    ingestor = Ingestor(rt)
    outcome: Counter[str] = Counter()
    rejected: list[tuple[Path, str]] = []
    for path in tqdm(files, desc="ingest", unit="file", file=sys.stderr, disable=not files):
        try:
            result = ingestor.ingest_file(path)
            outcome["new" if result.created else "duplicate"] += 1
        except VitrinaError as exc:
            outcome["rejected"] += 1
            rejected.append((path, f"{exc.code}: {exc.message}"))
    for path, why in rejected:
        click.echo(f"rejected {path}: {why}", err=True)
    if process_now:
        _process_until_idle(rt)
    click.echo(f"{len(files)} files: {outcome['new']} new, {outcome['duplicate']} duplicate, "
               f"{outcome['rejected']} rejected")
    if rejected:
        ctx.exit(1)


def _process_until_idle(rt: Any) -> None:
    from tqdm import tqdm

    from vitrina.pipeline.worker import Worker

    todo = sum(n for state, n in rt.queue.depth().items() if state in ("pending", "waiting", "running"))
    w = Worker(rt)
    with tqdm(total=todo, desc="process", unit="step", file=sys.stderr) as bar:
        while w.run_once():
            bar.update(1)


@main.group()
def assets() -> None:
    """Look at assets in the catalog."""


@assets.command("ls")
@click.option("--status", type=click.Choice(["pending", "processing", "ready", "failed"]))
@click.option("--limit", type=int, default=20, show_default=True)
@click.pass_context
def assets_ls(ctx: click.Context, status: str | None, limit: int) -> None:
    """List the newest assets."""
    from sqlalchemy import select

    from vitrina.storage.catalog.models import Asset

    rt = _runtime(ctx)
    query = select(Asset).order_by(Asset.id.desc()).limit(limit)
    if status:
        query = query.where(Asset.status == status)
    with rt.sessions() as s:
        rows = list(s.scalars(query))
    click.echo(f"{'id':32}  {'status':10}  {'mime':11}  {'size':>9}  {'w x h':>11}  filename")
    for a in rows:
        dims = f"{a.width}x{a.height}" if a.width else "-"
        click.echo(f"{a.id:32}  {a.status:10}  {a.mime:11}  {a.size_bytes:>9}  {dims:>11}  {a.filename or ''}")


@assets.command("show")
@click.argument("asset_id")
@click.pass_context
def assets_show(ctx: click.Context, asset_id: str) -> None:
    """Print one asset as the API gives it (JSON)."""
    from vitrina.api.routers.assets import _load
    from vitrina.api.schemas import asset_out

    rt = _runtime(ctx)
    try:
        asset = _load(rt, asset_id)
    except VitrinaError as exc:
        raise click.ClickException(exc.message)
    base = rt.settings.public_base_url or f"http://{rt.settings.host}:{rt.settings.port}"
    click.echo(json.dumps(asset_out(asset, base).model_dump(mode="json"), indent=2))


@main.group()
def db() -> None:
    """Catalog schema."""


@db.command("upgrade")
@click.pass_context
def db_upgrade(ctx: click.Context) -> None:
    """Bring the catalog schema to the version this code needs."""
    from vitrina.storage.catalog.db import current_revision, upgrade

    rt = _runtime(ctx)
    upgrade(rt.engine)
    click.echo(f"catalog at revision {current_revision(rt.engine)}")


@main.group()
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

    click.echo(create_key(_runtime(ctx).sessions, name, list(scopes)))


@keys.command("ls")
@click.pass_context
def keys_ls(ctx: click.Context) -> None:
    """List keys (never their secrets)."""
    from vitrina.api.keys import list_keys

    for k in list_keys(_runtime(ctx).sessions):
        click.echo(f"{k.id}  {k.name:20}  {k.scopes:18}  {'revoked' if k.revoked_at else 'active'}")


@keys.command("revoke")
@click.argument("key_id")
@click.pass_context
def keys_revoke(ctx: click.Context, key_id: str) -> None:
    """Revoke a key by its id."""
    from vitrina.api.keys import revoke_key

    try:
        revoke_key(_runtime(ctx).sessions, key_id)
    except VitrinaError as exc:
        raise click.ClickException(exc.message)
    click.echo(f"revoked {key_id}")


@main.group()
def batch() -> None:
    """Work over the whole catalog: stale results, reprocessing."""


@batch.command("stale")
@click.pass_context
def batch_stale(ctx: click.Context) -> None:
    """Count results made by an older version of their step."""
    from vitrina.pipeline.backfill import stale_counts

    counts = stale_counts(_runtime(ctx).sessions)
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

    rt = _runtime(ctx)
    n = requeue_stale(rt.sessions, step)
    click.echo(f"queued {n} stale step runs")
    if process_now and n:
        _process_until_idle(rt)


if __name__ == "__main__":
    main()
