"""`vitrina recs evaluate`: the leaderboard of every model on one split, and its plot."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from vitrina.cli.assets import PROJECT
from vitrina.cli.common import runtime_of


class _Progress:
    """A model whose fit and recommend calls move a progress bar (users ranked)."""

    def __init__(self, model: Any, total: int) -> None:
        from tqdm import tqdm

        self._model = model
        self._bar = tqdm(total=total, desc=f"{model.name}: fit", unit="user", file=sys.stderr,
                         leave=True, dynamic_ncols=True)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._model, name)

    def fit(self, data: Any) -> Any:
        self._model.fit(data)
        self._bar.set_description(f"{self._model.name}: rank")
        return self

    def recommend(self, users: Any, k: int, exclude: Any = None) -> Any:
        out = self._model.recommend(users, k, exclude)
        self._bar.update(len(users))
        if self._bar.n >= self._bar.total:
            self._bar.close()
        return out


def fit_progress(model: Any, cut: Any) -> _Progress:
    warm, cold = cut.warm_and_cold()
    return _Progress(model, len(warm) + len(cold))


@click.command("evaluate")
@click.option("--models", help="Comma-separated registered models to fit and measure "
              "(default: popularity, covisitation, item-knn, ease, als, bpr).")
@click.option("--split", type=click.Choice(["temporal", "leave-last-out"]), default="temporal",
              show_default=True, help="temporal: train before the 80th percentile of time, "
              "test after; leave-last-out: each user's last positive event is the test.")
@click.option("--k", type=click.IntRange(1, 100), default=10, show_default=True,
              help="Length of the ranked lists measured (NDCG@k, recall@k, MAP@k).")
@click.option("--plot", type=click.Path(dir_okay=False, writable=True, path_type=Path),
              help="Write a PNG of NDCG@k and recall@k per model (coverage annotated).")
@click.option("--json", "as_json", is_flag=True,
              help="Print the stored run as one JSON document instead of the table.")
@PROJECT
@click.pass_context
def recs_evaluate(ctx: click.Context, models: str | None, split: str, k: int, plot: Path | None,
                  as_json: bool, project: str) -> None:
    """Fit every chosen model on the same split of the project's interaction events and
    rank the whole catalogue for every test user; print the leaderboard (best NDCG@k
    first, with training time) and keep the run as JSON under
    recs/{project}/evaluations/. No model is saved or promoted: `vitrina recs train`
    does that."""
    from vitrina.cli.recs import _fail, _interactions
    from vitrina.errors import VitrinaError
    from vitrina.recs import evaluation, leaderboard
    from vitrina.recs.artefacts import ModelStore
    from vitrina.recs.training import DEFAULT_MODELS

    names = [n.strip() for n in models.split(",") if n.strip()] if models is not None \
        else list(DEFAULT_MODELS)
    if plot is not None and plot.suffix.lower() != ".png":
        raise click.BadParameter(f"{plot} does not end in .png", param_hint="--plot")
    rt = runtime_of(ctx)
    try:
        data, llm = _interactions(rt, project, names)
        run = leaderboard.run(rt.registries, data, names, split, k, wrap=fit_progress)
        doc = leaderboard.record(project, run, llm=llm)
        png = leaderboard.render_png(doc) if plot is not None else None
        key = leaderboard.save(ModelStore(rt.store), doc)
    except VitrinaError as exc:
        raise _fail(exc) from None
    finally:
        rt.close()
    if png is not None:
        plot.write_bytes(png)
    if as_json:
        click.echo(json.dumps({**doc, "key": key, "plot": str(plot) if plot else None}))
        return
    c = doc["counts"]
    click.echo(f"{run.cut.name}: {c['train']} training events, {c['test']} test events, "
               f"{c['warm_users']} warm test users, {c['cold_users']} cold", err=True)
    click.echo(evaluation.leaderboard(run.results, k))
    click.echo(f"stored {key}" + (f"; wrote {plot} ({len(png):,} bytes)" if png else ""))


COMMANDS: list = [recs_evaluate]
