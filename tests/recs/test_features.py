"""The feature SQL gives the same tables on DuckDB and on Spark (decision 029).

Events: the Open Bandit sample in tests/data/obd (impressions with their position and
propensity, a click after each clicked one), logged through the events import and
exported as Parquet, as production does."""

from __future__ import annotations

import csv
import json
import math
from datetime import datetime
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from tests.conftest import make_settings
from vitrina.recs.events import export_events, import_events
from vitrina.recs.features import FEATURES, KEYS, FeatureParams, run_duckdb, run_spark
from vitrina.storage.catalog.projects import DEFAULT_PROJECT

OBD = Path(__file__).resolve().parents[1] / "data" / "obd" / "random_all_head.csv"
PARAMS = FeatureParams(half_life_seconds=6 * 3600.0, max_gap=3,
                       covisit_events=("impression", "click"))
REL = 1e-9


def obd_events(path: Path) -> list[dict]:
    """One impression per row (a session per user and hour), a click a second later
    when the row was clicked."""
    out = []
    with OBD.open() as f:
        for n, row in enumerate(csv.DictReader(f)):
            ts = datetime.fromisoformat(row["timestamp"]).timestamp()
            user, item = row["user"], f"item-{row['item_id']}"
            session = f"{user}:{int(ts // 3600)}"
            served = {"request_id": f"r{n}", "model": "random", "variant": "control",
                      "position": int(row["position"]) - 1,
                      "propensity": float(row["propensity_score"])}
            out.append({"id": f"obd-{n}-i", "user_id": user, "item_id": item, "event": "impression",
                        "value": 1.0, "ts": ts, "session_id": session, **served})
            if row["click"] == "1":
                out.append({"id": f"obd-{n}-c", "user_id": user, "item_id": item, "event": "click",
                            "value": 1.0, "ts": ts + 1.0, "session_id": session, **served})
    with path.open("w") as f:
        for event in out:
            f.write(json.dumps(event) + "\n")
    return out


@pytest.fixture(scope="module")
def events_parquet(tmp_path_factory) -> Path:
    from vitrina.runtime import Runtime
    from vitrina.storage.catalog.db import upgrade

    tmp = tmp_path_factory.mktemp("features")
    rt = Runtime(make_settings(tmp, f"sqlite:///{tmp / 'catalog.db'}"))
    try:
        upgrade(rt.engine)
        logged = obd_events(tmp / "events.jsonl")
        summary = import_events(rt.sessions, DEFAULT_PROJECT, tmp / "events.jsonl")
        assert (summary.accepted, summary.rejected) == (len(logged), [])
        out = tmp / "events.parquet"
        assert export_events(rt.sessions, DEFAULT_PROJECT, out) == len(logged)
    finally:
        rt.close()
    return out


@pytest.fixture(scope="module")
def spark():
    pyspark = pytest.importorskip("pyspark.sql")
    session = (pyspark.SparkSession.builder.master("local[2]").appName("vitrina-features-test")
               .config("spark.ui.enabled", "false").config("spark.sql.shuffle.partitions", "2")
               .config("spark.sql.session.timeZone", "UTC").getOrCreate())
    yield session
    session.stop()


def _rows(path: Path, keys: tuple[str, ...]) -> list[dict]:
    rows = pq.read_table(path).to_pylist()
    return sorted(rows, key=lambda r: tuple(r[k] for k in keys))


def _same(a, b) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        if a is None or b is None:
            return a is b
        return math.isclose(a, b, rel_tol=REL, abs_tol=0.0) or a == b
    return a == b


def test_duckdb_and_spark_give_the_same_features(events_parquet, spark, tmp_path) -> None:
    duck = run_duckdb(events_parquet, tmp_path / "duckdb", PARAMS)
    sp = run_spark(spark, events_parquet, tmp_path / "spark", PARAMS)
    assert duck.as_of == sp.as_of
    for name in FEATURES:
        left, right = _rows(duck.outputs[name], KEYS[name]), _rows(sp.outputs[name], KEYS[name])
        assert len(left) == len(right) > 0, name
        assert list(left[0]) == list(right[0]), name  # the same columns, in order
        for x, y in zip(left, right, strict=True):
            bad = [c for c in x if not _same(x[c], y[c])]
            assert not bad, f"{name}: {x} != {y}"
    assert duck.rows == sp.rows


def test_the_features_hold_what_they_say(events_parquet, tmp_path) -> None:
    run = run_duckdb(events_parquet, tmp_path, PARAMS)
    events = pq.read_table(events_parquet).to_pylist()
    items = {r["item_id"]: r for r in pq.read_table(run.outputs["item_aggregates"]).to_pylist()}
    some = events[0]["item_id"]
    mine = [e for e in events if e["item_id"] == some]
    impressions = sum(e["event"] == "impression" for e in mine)
    clicks = sum(e["event"] == "click" for e in mine)
    assert (items[some]["impressions"], items[some]["clicks"]) == (impressions, clicks)
    assert items[some]["ctr"] == pytest.approx(clicks / impressions)
    assert items[some]["users"] == len({e["user_id"] for e in mine})
    # popularity: clicks only here (impressions do not count), decayed by age
    popularity = {r["item_id"]: r for r in pq.read_table(run.outputs["item_popularity"]).to_pylist()}
    clicked = [e for e in events if e["event"] == "click"]
    target = clicked[0]["item_id"]
    expected = sum(2 ** (-(run.as_of - e["ts"]) / PARAMS.half_life_seconds)
                   for e in clicked if e["item_id"] == target)
    assert popularity[target]["popularity"] == pytest.approx(expected, rel=1e-12)
    recency = {r["item_id"]: r for r in pq.read_table(run.outputs["item_recency"]).to_pylist()}
    assert recency[some]["age_seconds"] == pytest.approx(run.as_of - max(e["ts"] for e in mine))
    users = {r["user_id"]: r for r in pq.read_table(run.outputs["user_aggregates"]).to_pylist()}
    u = events[0]["user_id"]
    assert users[u]["events"] == sum(e["user_id"] == u for e in events)
    assert users[u]["distinct_items"] == len({e["item_id"] for e in events if e["user_id"] == u})
    pairs = pq.read_table(run.outputs["covisitation"]).to_pylist()
    assert pairs and all(p["item_a"] != p["item_b"] and p["pairs"] >= 1 for p in pairs)
