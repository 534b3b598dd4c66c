"""items and events: a project's recommendable items and its interaction log (decision 029)."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from vitrina.cli.assets import PROJECT
from vitrina.cli.common import runtime_of

FILE = click.Path(exists=True, dir_okay=False, path_type=Path)
#: rejects listed one by one; the count is always complete
SHOWN_REJECTS = 50


def _rejects(rejected: list[tuple[int, str]]) -> None:
    for line, message in rejected[:SHOWN_REJECTS]:
        click.echo(f"  line {line}: {message}", err=True)
    if len(rejected) > SHOWN_REJECTS:
        click.echo(f"  ... and {len(rejected) - SHOWN_REJECTS} more", err=True)


def _progress(path: Path, label: str):
    from tqdm import tqdm

    from vitrina.recs import files

    return tqdm(total=files.count(path), desc=label, unit="row", file=sys.stderr)


@click.group()
def items() -> None:
    """Recommendable items under the project's own ids: import and list."""


@items.command("import")
@click.argument("file", type=FILE)
@PROJECT
@click.pass_context
def items_import(ctx: click.Context, file: Path, project: str) -> None:
    """Upsert items from FILE (.jsonl, .csv or .parquet; one item per line or row, with
    its id). The same item again changes nothing. Exit status 1 when a line was rejected."""
    from vitrina.recs import files
    from vitrina.recs.item_import import import_items
    from vitrina.recs.items import ItemService

    files.format_of(file)
    service = ItemService.of(runtime_of(ctx))
    with _progress(file, "items") as bar:
        summary = import_items(service, project, file, bar.update)
    rejected = summary.rejected or []
    click.echo(f"new {summary.new}, updated {summary.updated}, unchanged {summary.unchanged}, "
               f"rejected {len(rejected)}")
    _rejects(rejected)
    if rejected:
        ctx.exit(1)


@items.command("ls")
@click.option("--type", "type_", help="Only items of this type.")
@click.option("--active/--inactive", default=None, help="Only items active now (or not).")
@click.option("--limit", type=click.IntRange(1, 500), default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@PROJECT
@click.pass_context
def items_ls(ctx: click.Context, type_: str | None, active: bool | None, limit: int,
             as_json: bool, project: str) -> None:
    """List items by id."""
    from vitrina.recs.items import ItemService

    page = ItemService.of(runtime_of(ctx)).list(project, type=type_, active=active, limit=limit)
    if as_json:
        for r in page.items:
            click.echo(json.dumps(r.to_dict(), ensure_ascii=False))
        return
    click.echo(f"{'id':32}  {'type':12}  {'updated':25}  title")
    for r in page.items:
        click.echo(f"{r.id:32}  {r.type:12}  {r.updated_at.isoformat(timespec='seconds'):25}  "
                   f"{(r.title or '')[:60]}")


@click.group()
def events() -> None:
    """The interaction log (the experiments' events): import and export."""


@events.command("import")
@click.argument("file", type=FILE)
@PROJECT
@click.pass_context
def events_import(ctx: click.Context, file: Path, project: str) -> None:
    """Log events from FILE (.jsonl, .csv or .parquet), validated as POST /v1/events
    validates them (user_id/ts are read as unit_id/timestamp); an event id already
    stored is skipped. Exit status 1 when a line was rejected."""
    from vitrina.recs import files
    from vitrina.recs.events import import_events

    files.format_of(file)
    rt = runtime_of(ctx)
    with _progress(file, "events") as bar:
        summary = import_events(rt.sessions, project, file, bar.update)
    click.echo(f"accepted {summary.accepted}, duplicates {summary.duplicates}, "
               f"rejected {len(summary.rejected)}")
    _rejects(summary.rejected)
    if summary.rejected:
        ctx.exit(1)


@events.command("export")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="The Parquet file to write.")
@click.option("--since", type=float, help="Only events at or after this epoch time.")
@PROJECT
@click.pass_context
def events_export(ctx: click.Context, out: Path, since: float | None, project: str) -> None:
    """Write the project's events to a Parquet file: user_id, item_id, event, value, ts,
    session_id and the serving columns."""
    from vitrina.recs.events import export_events

    rows = export_events(runtime_of(ctx).sessions, project, out, since)
    click.echo(f"wrote {rows} events to {out}")


@events.command("features")
@click.argument("events_file", metavar="EVENTS.parquet", type=FILE)
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="The directory to write the feature tables to.")
@click.option("--engine", type=click.Choice(["duckdb", "spark"]), default="duckdb", show_default=True)
@click.option("--master", default="local[*]", show_default=True, help="Spark's master URL.")
@click.option("--shuffle-partitions", type=click.IntRange(min=1),
              help="Spark's spark.sql.shuffle.partitions (default: Spark's, 200).")
@click.option("--half-life", type=click.FloatRange(min=1e-6), default=7 * 86_400.0, show_default=True,
              help="Seconds for an interaction's weight to halve (popularity).")
@click.option("--max-gap", type=click.IntRange(min=1), default=5, show_default=True,
              help="Co-visitation: at most this many events apart in a session.")
@click.option("--covisit-events", default="click,read,add_to_cart,purchase", show_default=True,
              help="Co-visitation: the events that count, comma-separated.")
@click.option("--as-of", type=float, help="Epoch time of the features (default: the latest event).")
def events_features(events_file: Path, out: Path, engine: str, master: str,
                    shuffle_partitions: int | None, half_life: float,
                    max_gap: int, covisit_events: str, as_of: float | None) -> None:
    """Compute the interaction features (vitrina/recs/sql/*.sql) over an events export,
    on DuckDB or on Spark, as Parquet under --out."""
    from vitrina.recs.features import FeatureParams, run_duckdb, run_spark

    params = FeatureParams(half_life, max_gap, tuple(e for e in covisit_events.split(",") if e), as_of)
    try:
        params.values(0.0)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    if engine == "duckdb":
        run = run_duckdb(events_file, out, params)
    else:
        from pyspark.sql import SparkSession

        builder = (SparkSession.builder.master(master).appName("vitrina-features")
                   .config("spark.ui.enabled", "false").config("spark.sql.session.timeZone", "UTC"))
        if shuffle_partitions:
            builder = builder.config("spark.sql.shuffle.partitions", str(shuffle_partitions))
        spark = builder.getOrCreate()
        try:
            run = run_spark(spark, events_file.resolve(), out.resolve(), params)
        finally:
            spark.stop()
    for name, path in run.outputs.items():
        click.echo(f"{name:16} {run.rows[name]:>9} rows  {path}")
    click.echo(f"{run.engine}: {run.seconds:.2f} s, as of {run.as_of}")


@click.group()
def recs() -> None:
    """Recommenders: train and evaluate on the project's events, promote a version, list."""


def _fail(exc: Exception) -> click.ClickException:
    from vitrina.errors import VitrinaError

    if isinstance(exc, VitrinaError):
        return click.ClickException(f"{exc.message} ({exc.status} {exc.code})")
    return click.ClickException(str(exc))


def _interactions(rt, project: str, names: Sequence[str]) -> tuple[Any, dict[str, str] | None]:
    """The project's interaction events (their counts told on stderr), with the items'
    text (and keywords) and linked images as vectors when a model in ``names`` reads
    them; and the text generator behind those keywords."""
    from vitrina.recs.training import CONTENT_MODELS, read_interactions

    data = read_interactions(rt.sessions, project)
    click.echo(f"{len(data)} events, {data.n_users} users, {data.n_items} items", err=True)
    if not CONTENT_MODELS & set(names):
        return data, None
    from vitrina.recs.content_vectors import with_content

    return with_content(rt.sessions, project, data)


@recs.command("train")
@click.option("--models", help="Comma-separated registered models to fit and evaluate "
              "(default: popularity, covisitation, item-knn, ease, als, bpr).")
@click.option("--split", type=click.Choice(["temporal", "leave-last-out"]), default="temporal",
              show_default=True, help="How the events are split for the evaluation.")
@click.option("--save", "save", help="The model to refit on all events and store "
              "(default: the best by NDCG@10).")
@click.option("--k", type=click.IntRange(1, 100), default=10, show_default=True)
@PROJECT
@click.pass_context
def recs_train(ctx: click.Context, models: str | None, split: str, save: str | None, k: int,
               project: str) -> None:
    """Fit every chosen model on the same split of the project's interaction events, print
    the leaderboard, then refit the best (or --save) on all events and store it as the
    next version under recs/{project}/{model}/v{n}."""
    from vitrina.cli.recs_evaluate import fit_progress
    from vitrina.errors import VitrinaError
    from vitrina.recs import evaluation
    from vitrina.recs.artefacts import ModelStore
    from vitrina.recs.training import DEFAULT_MODELS, train

    names = [n.strip() for n in models.split(",") if n.strip()] if models else list(DEFAULT_MODELS)
    rt = runtime_of(ctx)
    try:
        data, llm = _interactions(rt, project, [*names, *([save] if save else [])])
        done = train(rt.registries, ModelStore(rt.store), project, data, names, split, k, save,
                     wrap=fit_progress, llm=llm)
    except VitrinaError as exc:
        raise _fail(exc) from None
    finally:
        rt.close()
    click.echo(evaluation.leaderboard(done.results, k))
    m = done.manifest
    click.echo(f"saved {m.model} v{m.version} ({m.counts['interactions']} events, "
               f"{m.counts['users']} users, {m.counts['items']} items); "
               f"serve it with `vitrina recs promote {m.model} --version {m.version}`")


@recs.command("promote")
@click.argument("model")
@click.option("--version", type=click.IntRange(min=1), help="The version (default: the latest).")
@PROJECT
@click.pass_context
def recs_promote(ctx: click.Context, model: str, version: int | None, project: str) -> None:
    """Serve MODEL's version from now on (the API picks it up within seconds)."""
    from vitrina.errors import VitrinaError
    from vitrina.recs.artefacts import ModelStore

    rt = runtime_of(ctx)
    try:
        m = ModelStore(rt.store).promote(project, model, version)
    except VitrinaError as exc:
        raise _fail(exc) from None
    finally:
        rt.close()
    click.echo(f"serving {m.model} v{m.version} in {project}")


@recs.command("ls")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@PROJECT
@click.pass_context
def recs_ls(ctx: click.Context, as_json: bool, project: str) -> None:
    """Trained versions with their metrics; * marks the one serving."""
    from dataclasses import asdict

    from vitrina.recs.artefacts import ModelStore

    rt = runtime_of(ctx)
    try:
        store = ModelStore(rt.store)
        serving = store.serving(project)
        rows = [m for name in store.models(project) for v in store.versions(project, name)
                if (m := store.manifest(project, name, v)) is not None]
    finally:
        rt.close()
    if as_json:
        for m in rows:
            click.echo(json.dumps({**asdict(m), "serving": (m.model, m.version) == serving}))
        return
    click.echo(f"  {'model':14} {'version':>7}  {'trained_at':25} {'events':>8} "
               f"{'ndcg@10':>8} {'recall@10':>9}")
    for m in rows:
        mark = "*" if (m.model, m.version) == serving else " "
        click.echo(f"{mark} {m.model:14} {m.version:>7}  {m.trained_at:25} "
                   f"{m.counts.get('interactions', 0):>8} {m.metrics.get('ndcg@10', float('nan')):>8.4f} "
                   f"{m.metrics.get('recall@10', float('nan')):>9.4f}")


def _answer(r, as_json: bool) -> None:
    from dataclasses import asdict

    if as_json:
        click.echo(json.dumps(asdict(r)))
        return
    head = f"{r.model} v{r.version}"
    if r.variant:
        head += f", variant {r.variant} of {r.experiment} (p={r.propensity:.3g})"
    if r.fallback:
        head += f", fallback: {r.fallback}"
    click.echo(head)
    for i in r.items:
        p = f"  p={i['propensity']:.3g}" if i.get("propensity", 1.0) != 1.0 else ""
        click.echo(f"{i['position']:>3}  {i['item_id']:30} {i['score']:>10.4f}{p}")


@recs.command("recommend")
@click.argument("user")
@click.option("--k", type=click.IntRange(1, 100), default=10, show_default=True)
@click.option("--surface", help="The placement: its experiment (of the same key) picks the model.")
@click.option("--diversity", type=click.FloatRange(0, 1), help="MMR's weight on novelty.")
@click.option("--freshness-days", type=click.FloatRange(min=0, min_open=True),
              help="Boost new items: relevance halves every this many days since publication.")
@click.option("--include-seen", is_flag=True, help="Keep items the user already interacted with.")
@click.option("--json", "as_json", is_flag=True, help="The answer as one JSON object.")
@PROJECT
@click.pass_context
def recs_recommend(ctx: click.Context, user: str, k: int, surface: str | None, diversity: float | None,
                   freshness_days: float | None, include_seen: bool, as_json: bool, project: str) -> None:
    """What GET /v1/recommendations answers USER (an exposure to the surface's experiment
    is logged, as the API does)."""
    from vitrina.errors import VitrinaError
    from vitrina.recs.serving import RecsService

    rt = runtime_of(ctx)
    try:
        r = RecsService.of(rt).recommend(project, user, k, not include_seen, surface, diversity,
                                         freshness_days)
    except VitrinaError as exc:
        raise _fail(exc) from None
    finally:
        rt.close()
    _answer(r, as_json)


@recs.command("similar")
@click.argument("item")
@click.option("--k", type=click.IntRange(1, 100), default=10, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="The answer as one JSON object.")
@PROJECT
@click.pass_context
def recs_similar(ctx: click.Context, item: str, k: int, as_json: bool, project: str) -> None:
    """The K items nearest ITEM by the promoted model."""
    from vitrina.errors import VitrinaError
    from vitrina.recs.serving import RecsService

    rt = runtime_of(ctx)
    try:
        r = RecsService.of(rt).similar(project, item, k)
    except VitrinaError as exc:
        raise _fail(exc) from None
    finally:
        rt.close()
    _answer(r, as_json)


COMMANDS = [items, events, recs]
