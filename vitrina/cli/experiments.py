"""exp: define experiments, assign units, log exposures and events, read results."""

from __future__ import annotations

import csv
import json
import sys
import time
from collections.abc import Callable, Iterator
from itertools import islice
from pathlib import Path
from typing import Any

import click

from vitrina.cli.common import runtime_of
from vitrina.errors import VitrinaError
from vitrina.storage.catalog.projects import DEFAULT_PROJECT

#: CSV rows validated and written per step (the whole file is one transaction)
CHUNK = 5_000
EXPOSURE_COLUMNS = ({"experiment", "unit_id", "variant"}, {"timestamp"})
EVENT_COLUMNS = ({"unit_id", "event"}, {"value", "timestamp", "id"})

PROJECT = click.option("--project", default=DEFAULT_PROJECT, show_default=True, metavar="ID",
                       help="The project to act in: its experiments, exposures and events only.")


def _service(ctx: click.Context):
    from vitrina.experiments_service import ExperimentService

    return ExperimentService(runtime_of(ctx).sessions)


def _fail(exc: VitrinaError) -> click.ClickException:
    lines = [f"{exc.code}: {exc.message}"]
    for p in exc.details.get("problems", [])[:10]:
        if "line" in p:
            lines.append(f"  line {p['line']}: {p['field']}: {p['message']}")
    return click.ClickException("\n".join(lines))


def _read_json(path: str) -> dict[str, Any]:
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise click.BadParameter(f"cannot read JSON from {path}: {exc}", param_hint="FILE")
    if not isinstance(data, dict) or "definition" not in data or set(data) - {"definition", "plan"}:
        raise click.BadParameter('the file must hold {"definition": {...}, "plan": {...}}',
                                 param_hint="FILE")
    return data


@click.group("exp")
def exp() -> None:
    """Experiments and feature flags: define, assign, log, analyse.

    Works on the catalog directly (like the server); the same as /v1/experiments.
    Every command acts in one project (--project, default "default"), as an API key of
    that project would.
    """


@exp.command("create")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@PROJECT
@click.pass_context
def create(ctx: click.Context, file: str, project: str) -> None:
    """Create an experiment from a JSON FILE: {"definition": {...}, "plan": {...}}."""
    data = _read_json(file)
    try:
        record = _service(ctx).create(project, data["definition"], data.get("plan"))
    except VitrinaError as exc:
        raise _fail(exc) from None
    click.echo(f"created {record.key} (revision {record.revision}, {record.experiment.status})")


@exp.command("update")
@click.argument("key")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--revision", type=int, default=None,
              help="Refuse unless the stored revision is this one.")
@PROJECT
@click.pass_context
def update(ctx: click.Context, key: str, file: str, revision: int | None, project: str) -> None:
    """Replace KEY's definition and plan with those in FILE (the key may be left out)."""
    data = _read_json(file)
    try:
        record = _service(ctx).update(project, key, data["definition"], data.get("plan"),
                                      revision)
    except VitrinaError as exc:
        raise _fail(exc) from None
    click.echo(f"updated {record.key} (revision {record.revision}, {record.experiment.status})")


@exp.command("ls")
@click.option("--status", type=click.Choice(["draft", "running", "stopped", "killed"]),
              help="Only experiments in this state, as the listing shows it (killed: the kill switch is on).")
@PROJECT
@click.pass_context
def ls(ctx: click.Context, status: str | None, project: str) -> None:
    """List the project's experiments by key."""
    # killed is a switch over any stored status: filter on the state shown
    records = _service(ctx).list(project, None if status == "killed" else status, limit=10_000)
    click.echo(f"{'key':24}  {'status':8}  {'rev':>3}  {'traffic':>7}  variants")
    for r in records:
        e = r.experiment
        state = "killed" if e.killed else e.status.value
        if status is not None and state != status:
            continue
        traffic = "rollout" if e.rollout else f"{e.traffic:.0%}"
        variants = " ".join(f"{v}:{w:.0%}" for v, w in zip(e.variant_keys, e.weights))
        click.echo(f"{e.key:24}  {state:8}  {r.revision:>3}  {traffic:>7}  {variants}")


@exp.command("show")
@click.argument("key")
@PROJECT
@click.pass_context
def show(ctx: click.Context, key: str, project: str) -> None:
    """Print KEY's record as the API gives it (JSON)."""
    try:
        click.echo(json.dumps(_service(ctx).get(project, key).to_dict(), indent=2))
    except VitrinaError as exc:
        raise _fail(exc) from None


def _state_command(name: str, doc: str) -> click.Command:
    @click.command(name, help=doc)
    @click.argument("key")
    @PROJECT
    @click.pass_context
    def command(ctx: click.Context, key: str, project: str) -> None:
        try:
            record = getattr(_service(ctx), name)(project, key)
        except VitrinaError as exc:
            raise _fail(exc) from None
        e = record.experiment
        click.echo(f"{name}: {e.key} is {'killed' if e.killed else e.status.value} "
                   f"(revision {record.revision})")

    return command


exp.add_command(_state_command("stop", "Stop KEY: everyone gets the control; data is kept."))
exp.add_command(_state_command("kill", "Kill switch: everyone gets KEY's control at once."))


def _attributes(_ctx: click.Context, _param: click.Parameter, values: tuple[str, ...]) -> dict:
    attrs: dict[str, Any] = {}
    for item in values:
        name, sep, raw = item.partition("=")
        if not sep or not name:
            raise click.BadParameter(f"{item!r} is not NAME=VALUE")
        try:
            attrs[name] = json.loads(raw)  # numbers, true/false, lists
        except ValueError:
            attrs[name] = raw
    return attrs


@exp.command("assign")
@click.argument("key")
@click.argument("unit_id")
@click.option("--attr", "attributes", multiple=True, callback=_attributes, metavar="NAME=VALUE",
              help="A unit attribute for targeting (JSON values: 31, true, [\"a\"]); repeatable.")
@click.option("--log-exposure", is_flag=True, help="Log the exposure when the unit is in.")
@PROJECT
@click.pass_context
def assign(ctx: click.Context, key: str, unit_id: str, attributes: dict,
           log_exposure: bool, project: str) -> None:
    """Print UNIT_ID's variant of KEY (JSON)."""
    from vitrina.experiments_service.service import assignment_dict

    try:
        answer = _service(ctx).assign(project, key, unit_id, attributes or None, log_exposure)
    except VitrinaError as exc:
        raise _fail(exc) from None
    click.echo(json.dumps(assignment_dict(unit_id, answer)))


def _csv_rows(path: str, columns: tuple[set[str], set[str]],
              defaults: dict[str, str]) -> tuple[int, Iterator[dict[str, Any]]]:
    required, optional = columns
    with open(path, newline="") as f:
        header = next(csv.reader(f), [])
        total = sum(1 for _ in f)
    missing = sorted(required - set(header) - set(defaults))
    unknown = sorted(set(header) - required - optional)
    if missing or unknown:
        raise click.BadParameter(f"columns: missing {missing}, unknown {unknown}; expected "
                                 f"{sorted(required)} and optionally {sorted(optional)}",
                                 param_hint="CSV")

    def rows() -> Iterator[dict[str, Any]]:
        with open(path, newline="") as f:
            for row in csv.DictReader(f):
                item: dict[str, Any] = {**defaults}
                for name, raw in row.items():
                    if raw is None or raw == "":
                        continue  # an empty cell takes the default
                    if name in ("timestamp", "value"):
                        try:
                            item[name] = float(raw)
                        except ValueError:
                            item[name] = raw  # reported by the validation with its line
                    else:
                        item[name] = raw
                yield item

    return total, rows()


def _log_csv(ctx: click.Context, project: str, path: str, what: str, total: int,
             rows: Iterator[dict], parse: Callable, write: Callable) -> None:
    from tqdm import tqdm

    from vitrina.storage.catalog.db import transaction

    now = time.time()
    done = 0
    try:
        with transaction(runtime_of(ctx).sessions) as s, \
                tqdm(total=total, desc=what, unit="row", file=sys.stderr) as bar:
            while chunk := list(islice(rows, CHUNK)):  # streamed: one chunk in memory
                write(s, project, parse(chunk, now, done), done)
                done += len(chunk)
                bar.update(len(chunk))
    except VitrinaError as exc:
        for p in exc.details.get("problems", []):
            p["line"] = p["index"] + 2  # the header is line 1
        raise _fail(exc) from None
    click.echo(f"logged {done} {what} from {path}")


@exp.command("log-exposures")
@click.argument("csv_path", metavar="CSV", type=click.Path(exists=True, dir_okay=False))
@click.option("--experiment", default=None, help="The experiment of rows without that column.")
@PROJECT
@click.pass_context
def log_exposures(ctx: click.Context, csv_path: str, experiment: str | None,
                  project: str) -> None:
    """Log exposures from CSV: unit_id, variant, [experiment], [timestamp] (epoch s).

    All rows or none: the file is one transaction; bad rows are listed by line.
    """
    from vitrina.experiments_service import logs

    defaults = {"experiment": experiment} if experiment else {}
    total, rows = _csv_rows(csv_path, EXPOSURE_COLUMNS, defaults)
    _log_csv(ctx, project, csv_path, "exposures", total, rows, logs.parse_exposures,
             logs.write_exposures)


@exp.command("log-events")
@click.argument("csv_path", metavar="CSV", type=click.Path(exists=True, dir_okay=False))
@PROJECT
@click.pass_context
def log_events(ctx: click.Context, csv_path: str, project: str) -> None:
    """Log events from CSV: unit_id, event, [value], [timestamp] (epoch s), [id].

    All rows or none: the file is one transaction; bad rows are listed by line.
    """
    from vitrina.experiments_service import logs

    total, rows = _csv_rows(csv_path, EVENT_COLUMNS, {})
    _log_csv(ctx, project, csv_path, "events", total, rows, logs.parse_events,
             lambda s, project, events, _start: logs.write_events(s, project, events))


@exp.command("results")
@click.argument("key")
@click.option("--json", "as_json", is_flag=True, help="Print the full result as JSON.")
@click.option("--png", type=click.Path(dir_okay=False, writable=True), default=None,
              help="Also write a plot of the effect over time to this PNG file.")
@click.option("--metric", default=None, help="The plot's metric (default: the primary one).")
@PROJECT
@click.pass_context
def results(ctx: click.Context, key: str, as_json: bool, png: str | None,
            metric: str | None, project: str) -> None:
    """Analyse KEY: effects, intervals, p-values, chance to win, SRM, guardrails."""
    from vitrina.experiments_service.report import report

    service = _service(ctx)
    try:
        result = service.result(project, key)
        image = service.plot(project, key, metric) if png else None
    except VitrinaError as exc:
        raise _fail(exc) from None
    click.echo(json.dumps(result.to_dict(), indent=2) if as_json else report(result))
    if image is not None:
        Path(png).write_bytes(image)
        click.echo(f"wrote {png} ({len(image):,} bytes)", err=True)


COMMANDS = [exp]
