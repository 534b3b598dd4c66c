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
from vitrina.cli.duplicates import duplicates
from vitrina.errors import NotFound, VitrinaError
from vitrina.storage.catalog.projects import DEFAULT_PROJECT

#: files at least this large get a bar of their own, in bytes, while they are read
LARGE_FILE = 32 * 1024 * 1024
PROJECT = click.option("--project", default=DEFAULT_PROJECT, show_default=True,
                       help="The project the assets belong to.")


def _collect(paths: tuple[str, ...], recursive: bool, suffixes: frozenset[str]) -> tuple[list[Path], int]:
    """The files named, and in directories the files of a registered media kind; and,
    without ``recursive``, how many such files the directories' subdirectories hold."""
    found: list[Path] = []
    below = 0
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            media = sorted(f for f in p.glob("**/*") if f.is_file() and f.suffix.lower() in suffixes)
            if recursive:
                found += media
            else:
                found += [f for f in media if f.parent == p]
                below += sum(f.parent != p for f in media)
        elif p.is_file():
            found.append(p)
        else:
            raise click.BadParameter(f"{raw} does not exist", param_hint="PATH")
    return found, below


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
    files, below = _collect(paths, recursive, suffixes(rt.registries.kinds))
    if below:
        click.echo(f"skipped {below} files in subdirectories: add -r to ingest them too", err=True)
    ingestor = rt.ingestor
    outcome: Counter[str] = Counter()
    rejected: list[tuple[Path, str]] = []
    for path in tqdm(files, desc="ingest", unit="file", file=sys.stderr, disable=not files):
        try:
            result = _ingest_one(ingestor, path, project)
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


def _ingest_one(ingestor: Any, path: Path, project: str) -> Any:
    """Ingest one file; a large one shows its bytes as they are read (under the files' bar)."""
    from tqdm import tqdm

    from vitrina.pipeline.ingest import CHUNK

    size = path.stat().st_size
    if size < LARGE_FILE:
        return ingestor.ingest_file(path, project=project)
    with (open(path, "rb") as src, ingestor.stage(size, project=project) as staged,
          tqdm(total=size, desc=path.name[:30], unit="B", unit_scale=True, unit_divisor=1024,
               file=sys.stderr, leave=False, position=1) as bar):
        while chunk := src.read(CHUNK):
            staged.write(chunk)
            bar.update(len(chunk))
        bar.set_postfix_str("checking")
        return ingestor.commit(staged, project=project, filename=path.name, idempotency_key=None)


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


assets.add_command(duplicates)


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
    """Print one asset as the API gives it (JSON); a line per running step on stderr says
    how far it is, e.g. ``renditions  running  42%  eta 12 s``."""
    from vitrina.assets.views import asset_json

    rt = runtime_of(ctx)
    try:
        asset = rt.assets.get(project, asset_id)
    except VitrinaError as exc:
        raise click.ClickException(exc.message)
    base = rt.settings.public_base_url.rstrip("/") or f"http://{rt.settings.server.host}:{rt.settings.server.port}"
    shown = asset_json(asset, base)
    click.echo(json.dumps(shown, indent=2))
    for step in shown["steps"]:  # stdout stays JSON for scripts; people watching read these
        if step["state"] == StepState.RUNNING:
            click.echo(running_line(step), err=True)


def running_line(step: dict[str, Any]) -> str:
    """``renditions  running  42%  eta 12 s``: as much as the step has reported."""
    words = [step["step"], step["state"]]
    if step["progress"] is not None:
        words.append(f"{round(step['progress'] * 100)}%")
    if step["eta_seconds"] is not None:
        words.append(f"eta {step['eta_seconds']} s")
    return "  ".join(words)


@assets.command("wait")
@click.argument("asset_id")
@click.option("--timeout", type=click.FloatRange(min=0), default=3600, show_default=True,
              help="Seconds to wait before giving up (exit 2).")
@PROJECT
@click.pass_context
def assets_wait(ctx: click.Context, asset_id: str, timeout: float, project: str) -> None:
    """Wait until ASSET_ID is processed, with a bar per step showing how far it is;
    prints the outcome and each step's time, and exits 1 if the asset failed."""
    import time

    from tqdm import tqdm

    from vitrina.assets.views import asset_json

    rt = runtime_of(ctx)
    deadline, bars = time.monotonic() + timeout, {}
    while True:
        asset = rt.assets.get(project, asset_id)  # one read a round: its steps and its status
        steps = asset_json(asset, "")["steps"]
        for step in steps:
            bar = bars.get(step["step"])
            if bar is None and step["state"] == StepState.RUNNING:
                bar = bars[step["step"]] = tqdm(total=100, file=sys.stderr,
                                                bar_format="{desc:>12}: {percentage:3.0f}%|{bar}|")
            if bar is not None:
                done = 100 if step["state"] == StepState.DONE else round((step["progress"] or 0) * 100)
                eta = step["eta_seconds"]
                bar.set_description_str(step["step"] + (f" eta {eta} s" if eta is not None else ""))
                bar.update(done - bar.n)
        status = asset.status
        if status not in (AssetStatus.PENDING, AssetStatus.PROCESSING) or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    for bar in bars.values():
        bar.close()
    click.echo(f"{asset_id} {status}")
    for step in steps:
        took = f"{step['duration_ms'] / 1000:.1f} s" if step["duration_ms"] is not None else "-"
        click.echo(f"  {step['step']:12} {step['state']:8} {took:>8}  {step['error_code'] or ''}".rstrip())
    if status == AssetStatus.FAILED:
        ctx.exit(1)
    if status != AssetStatus.READY:
        click.echo(f"still {status} after {timeout:g} s; run the command again to keep waiting", err=True)
        ctx.exit(2)


def field_value(text: str) -> str | int | float | bool:
    """``200`` is a number, ``true``/``false`` a boolean, anything else the text itself."""
    try:
        value = json.loads(text)
    except ValueError:
        return text
    return value if isinstance(value, (int, float, bool)) else text


def _fields(pairs: tuple[str, ...], removed: tuple[str, ...]) -> dict[str, Any] | None:
    fields: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise click.BadParameter(f"{pair!r} is not KEY=VALUE", param_hint="--field")
        fields[key] = field_value(value)
    fields.update(dict.fromkeys(removed))  # None deletes the key
    return fields or None


@assets.command("edit")
@click.argument("asset_id")
@click.option("--title", help="The title (up to 300 characters).")
@click.option("--clear-title", is_flag=True, help="Remove the title.")
@click.option("--alt-text", help="Alternative text for people who cannot see the image (up to 1000).")
@click.option("--clear-alt-text", is_flag=True, help="Remove the alternative text.")
@click.option("--tag", "tags", multiple=True, help="A tag; repeat for more. Replaces the asset's tags.")
@click.option("--clear-tags", is_flag=True, help="Remove every tag the user set.")
@click.option("--field", "field_pairs", multiple=True, metavar="KEY=VALUE",
              help="Set a field (numbers and true/false are kept as such); repeat for more.")
@click.option("--remove-field", "removed", multiple=True, metavar="KEY", help="Delete a field; repeat for more.")
@PROJECT
@click.pass_context
def assets_edit(ctx: click.Context, asset_id: str, title: str | None, clear_title: bool, alt_text: str | None,
                clear_alt_text: bool, tags: tuple[str, ...], clear_tags: bool, field_pairs: tuple[str, ...],
                removed: tuple[str, ...], project: str) -> None:
    """Edit an asset's user metadata; what is not named stays. Prints the title, alt
    text, tags, fields and metadata version after the change, as JSON."""
    if (title is not None and clear_title) or (alt_text is not None and clear_alt_text) or (tags and clear_tags):
        raise click.UsageError("give a value or clear it, not both")
    body: dict[str, Any] = {}
    if title is not None or clear_title:
        body["title"] = title
    if alt_text is not None or clear_alt_text:
        body["alt_text"] = alt_text
    if tags or clear_tags:
        body["tags"] = list(tags)
    fields = _fields(field_pairs, removed)
    if fields is not None:
        body["fields"] = fields
    a = runtime_of(ctx).assets.update_metadata(project, asset_id, body)
    click.echo(json.dumps({"id": a.id, "title": a.metadata.title, "alt_text": a.metadata.alt_text,
                           "tags": list(a.metadata.tags), "fields": dict(a.metadata.fields or {}),
                           "metadata_version": a.metadata_version}, indent=2))


@assets.command("rm")
@click.argument("asset_ids", nargs=-1, required=True, metavar="ID...")
@PROJECT
@click.pass_context
def assets_rm(ctx: click.Context, asset_ids: tuple[str, ...], project: str) -> None:
    """Delete assets: their rows, derivatives and (when no other asset shares it) original."""
    rt = runtime_of(ctx)
    missing = []
    for asset_id in asset_ids:
        try:
            rt.assets.delete(project, asset_id)
        except NotFound:
            missing.append(asset_id)
            continue
        except VitrinaError as exc:
            raise click.ClickException(f"{asset_id}: {exc.code}: {exc.message}") from None
        click.echo(f"deleted {asset_id}")
    if missing:
        raise click.ClickException(f"not found in project {project}: {' '.join(missing)}")


COMMANDS = [ingest, assets]
