"""vitrina batch backfill | jobs | cancel | export (decision 026)."""

from __future__ import annotations

import signal
import sys
from pathlib import Path

import click

from vitrina.cli.common import runtime_of
from vitrina.errors import VitrinaError


def _fail(exc: VitrinaError) -> click.ClickException:
    return click.ClickException(f"{exc.code}: {exc.message}")


@click.command("backfill")
@click.option("--analyser", "analysers", multiple=True, metavar="NAME",
              help="Only this analyser's results (repeatable). Default: every analyser's.")
@click.option("--stale", "stale_only", is_flag=True,
              help="Recompute stale results only: missing or of another version (the default).")
@click.option("--all", "force", is_flag=True,
              help="Recompute every result of the chosen analysers, current or not.")
@click.option("--engine", default=None, metavar="NAME",
              help="Where batches are computed: local (a process pool here, the default) or ray. "
                   "With --resume: the job's own unless given.")
@click.option("--processes", type=click.IntRange(1, 1024), default=None, metavar="N",
              help="Worker processes (local) or CPUs of a local Ray instance. Default: this machine's CPUs.")
@click.option("--address", default=None, metavar="ADDR",
              help="Ray cluster to connect to (ray://host:10001 or auto). Default: start Ray here.")
@click.option("--project", default=None, metavar="ID", help="Only this project's assets. Default: every project.")
@click.option("--batch-size", type=click.IntRange(1, 100_000), default=None, metavar="N",
              help="Assets per batch (one task, one transaction). Default: the analysers' batch size.")
@click.option("--resume", "resume", default=None, metavar="JOB",
              help="Continue this job (after a kill or a cancel) with its own analysers and project.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@click.pass_context
def backfill(ctx: click.Context, analysers: tuple[str, ...], stale_only: bool, force: bool, engine: str | None,
             processes: int | None, address: str | None, project: str | None, batch_size: int | None,
             resume: str | None, quiet: bool) -> None:
    """Recompute analyser results across the catalog, in batches, on an engine.

    Results are stale when an analyser's stored result is missing or of another
    version; those are recomputed (--all: every result). Workers compute, this process
    writes each batch and the job's progress in one short transaction, so a running
    service is not blocked. A killed backfill continues where it stopped when the same
    command runs again or with --resume JOB; `vitrina batch jobs` and
    GET /v1/batch/jobs show its progress.
    """
    from tqdm import tqdm

    from vitrina.batch.backfill import BackfillRequest, prepare, run_job

    if stale_only and force:
        raise click.UsageError("--stale and --all contradict each other: choose one")
    if address and engine not in (None, "ray"):
        raise click.UsageError("--address is for --engine ray")
    if resume and (analysers or force or project or stale_only):
        raise click.UsageError("--resume JOB runs with the job's own analysers and project: drop "
                               "--analyser/--all/--stale/--project")
    rt = runtime_of(ctx)
    if engine is None:
        engine = "ray" if address else _engine_of(rt, resume) if resume else "local"
    if engine not in rt.registries.engines:
        raise click.UsageError(f"no engine {engine!r}; known: {', '.join(rt.registries.engines.names())}")
    request = BackfillRequest(analysers or None, force, project, engine, processes, address, batch_size)
    try:
        job, resumed = prepare(rt, request, resume)
    except VitrinaError as exc:
        raise _fail(exc) from None
    if resumed:
        click.echo(f"resuming backfill {job.id}: {job.left} of {job.total} assets left", err=True)
    else:
        click.echo(f"backfill {job.id}: {job.total} assets to visit", err=True)
    run = BackfillRequest(tuple(job.analysers) if job.analysers else None, job.force, job.project, engine,
                          processes, address, batch_size)
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        with tqdm(total=job.left, desc="backfill", unit="asset", file=sys.stderr, disable=quiet) as bar:
            summary = run_job(rt, job, run, resumed=resumed, progress=bar.update)
    except KeyboardInterrupt:
        click.echo(f"backfill {job.id} cancelled; continue it with `vitrina batch backfill --resume {job.id}`",
                   err=True)
        ctx.exit(130)
    except VitrinaError as exc:
        raise click.ClickException(f"{exc.code}: {exc.message}\nbackfill {job.id} failed; once fixed, "
                                   f"continue it with `vitrina batch backfill --resume {job.id}`") from None
    except Exception as exc:  # noqa: BLE001 - the job row has the error; the user gets a line, not a traceback
        raise click.ClickException(f"backfill {job.id} failed: {type(exc).__name__}: {exc}\nonce fixed, "
                                   f"continue it with `vitrina batch backfill --resume {job.id}`") from None
    finally:
        signal.signal(signal.SIGTERM, previous)
    j = summary.job
    click.echo(f"backfill {j.id} {j.state}: {summary.assets} assets, {summary.written} results written, "
               f"{summary.failed} failed, {summary.seconds:.1f} s, {summary.rate:.1f} assets/s")
    if j.state != "done":
        click.echo(f"continue it with `vitrina batch backfill --resume {j.id}`", err=True)
    if summary.failed:
        click.echo("failed assets are listed in the log above; they stay stale and a re-run retries them", err=True)
        ctx.exit(1)


def _engine_of(rt, job_id: str) -> str:
    from vitrina.batch.jobs import BackfillJobs

    try:
        return BackfillJobs(rt.sessions).get(job_id).engine
    except VitrinaError as exc:
        raise _fail(exc) from None


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


@click.command("jobs")
@click.option("--project", default=None, metavar="ID", help="Only this project's jobs. Default: every job.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@click.pass_context
def jobs(ctx: click.Context, project: str | None, as_json: bool) -> None:
    """List backfill jobs, newest first: state, progress, rate and time left."""
    import json

    from vitrina.batch.jobs import BackfillJobs

    for j in BackfillJobs(runtime_of(ctx).sessions).list(project):
        if as_json:
            click.echo(json.dumps(j.to_dict()))
            continue
        rate = f"{j.rate:.1f}/s" if j.rate else "-"
        eta = f"eta {j.eta_seconds} s" if j.eta_seconds is not None else ""
        state = "stalled" if j.stalled else j.state
        what = ",".join(j.analysers) if j.analysers else "every analyser"
        what += " (all results)" if j.force else " (stale results)"
        click.echo(f"{j.id}  {state:9}  {j.done}/{j.total} done  {j.failed} failed  {rate:>8}  "
                   f"{j.engine:6}  {what}  {eta}".rstrip())


@click.command("cancel")
@click.argument("job_id", metavar="JOB")
@click.pass_context
def cancel(ctx: click.Context, job_id: str) -> None:
    """Stop a running backfill after the batch in hand (resume it with --resume JOB)."""
    from vitrina.batch.jobs import BackfillJobs

    try:
        job = BackfillJobs(runtime_of(ctx).sessions).cancel(job_id)
    except VitrinaError as exc:
        raise _fail(exc) from None
    click.echo(f"backfill {job.id}: {job.state}")


@click.command("export")
@click.option("--out", "out", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Directory to create (must not exist): assets.parquet, signals.parquet, embeddings/.")
@click.option("--project", default=None, metavar="ID", help="Only this project's assets. Default: every project.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@click.pass_context
def export(ctx: click.Context, out: Path, project: str | None, quiet: bool) -> None:
    """Write the catalog as a Parquet dataset for ML: assets, signals, embeddings.

    Streams in batches, writes into a temporary directory next to --out and renames it
    when complete, so --out is either absent or whole.
    """
    from vitrina.batch.export import export_dataset

    rt = runtime_of(ctx)
    try:
        counts = export_dataset(rt, out, project=project, progress=not quiet)
    except VitrinaError as exc:
        raise _fail(exc) from None
    parts = ", ".join(f"{n} {name}" for name, n in counts.items())
    click.echo(f"exported to {out}: {parts}")


def attach(group: click.Group) -> None:
    for command in (backfill, jobs, cancel, export):
        group.add_command(command)
