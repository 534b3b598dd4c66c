"""serve, worker, db: running Vitrina."""

from __future__ import annotations

import multiprocessing
import signal
import threading

import click

from vitrina import logs
from vitrina.cli.common import require_catalog, runtime_of, settings_of
from vitrina.config import load_settings


@click.command()
@click.option("--host", default=None, help="Interface to bind (default from VITRINA_SERVER__HOST, 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Port (default from VITRINA_SERVER__PORT, 8000).")
@click.option("--workers", "http_workers", type=int, default=None, help="HTTP worker processes.")
@click.pass_context
def serve(ctx: click.Context, host: str | None, port: int | None, http_workers: int | None) -> None:
    """Run the HTTP API (with pipeline workers in-process unless VITRINA_SERVER__INPROCESS_WORKERS=0)."""
    import uvicorn

    s = settings_of(ctx)
    require_catalog(s)
    logs.setup()
    host, port, n = host or s.server.host, port or s.server.port, http_workers or s.server.http_workers
    click.echo(f"Vitrina on http://{host}:{port}  (API docs: http://{host}:{port}/docs)", err=True)
    uvicorn.run("vitrina.api.app:app_from_env", factory=True, host=host, port=port, workers=n,
                log_config=None, access_log=False)


DEV_SETTINGS = """\
# Development settings written by `vitrina dev` (`make run`) on its first run. Every
# `vitrina` command run with this data dir (VITRINA_DATA_DIR, default var) reads this
# file, so the server and the command line share the mode and the URL signing key.
dev = true

[signing]
keys = {{ k1 = "{secret}" }}
"""


@click.command()
@click.option("--demo", type=click.Path(exists=True, file_okay=False), default=None,
              help="Ingest this directory's files on the first run (`make run`: data/photos).")
@click.option("--host", default=None, help="Interface to bind (default 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Port (default 8000).")
@click.pass_context
def dev(ctx: click.Context, demo: str | None, host: str | None, port: int | None) -> None:
    """Development server, what `make run` starts: development mode settings and a fresh
    URL signing key written to <data dir>/vitrina.toml once (unless VITRINA_CONFIG_FILE
    names a file), the catalog upgraded, DEMO ingested on the first run, then `serve`.
    """
    import os
    import secrets

    from vitrina.cli.assets import ingest
    from vitrina.config import default_config_file
    from vitrina.storage.catalog.projects import DEFAULT_PROJECT

    config = default_config_file()
    if not os.environ.get("VITRINA_CONFIG_FILE") and not config.is_file():
        config.parent.mkdir(parents=True, exist_ok=True)
        config.write_text(DEV_SETTINGS.format(secret=secrets.token_urlsafe(32)))
        click.echo(f"wrote development settings to {config}", err=True)
    ctx.obj = None  # read them again, the new file included
    ctx.invoke(db_upgrade)
    settings = settings_of(ctx)
    marker = settings.data_dir / ".demo-ingested"
    if demo is not None and not marker.exists():
        ctx.invoke(ingest, paths=(demo,), recursive=False, process_now=False, project=DEFAULT_PROJECT)
        marker.touch()
    click.echo(f"Development mode (settings: {settings.config_file}); `vitrina` commands run from "
               "this directory use the same catalog and signing key.", err=True)
    ctx.invoke(serve, host=host, port=port, http_workers=None)


def _worker_process(index: int) -> None:
    from vitrina.pipeline.worker import Worker, worker_name
    from vitrina.runtime import Runtime

    logs.setup()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    Worker(Runtime(load_settings()), worker_name(index)).run_forever(stop)


@click.command()
@click.option("--processes", "-n", type=int, default=1, show_default=True, help="Worker processes to run.")
@click.pass_context
def worker(ctx: click.Context, processes: int) -> None:
    """Claim and run pipeline steps until stopped (SIGTERM finishes the current step)."""
    require_catalog(settings_of(ctx))
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


@click.group()
def db() -> None:
    """Catalog schema."""


@db.command("upgrade")
@click.pass_context
def db_upgrade(ctx: click.Context) -> None:
    """Bring the catalog schema to the version this code needs."""
    from vitrina.storage.catalog.db import current_revision, upgrade

    rt = runtime_of(ctx, create_catalog=True)
    upgrade(rt.engine)
    click.echo(f"catalog at revision {current_revision(rt.engine)}")


COMMANDS = [serve, dev, worker, db]
