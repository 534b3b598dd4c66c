"""Interaction features as SQL, written once (decision 029), run on DuckDB or Spark.

Each feature is a ``.sql`` file in ``vitrina/recs/sql/`` reading one table, ``events``,
in the shape ``vitrina events export`` writes (user_id, item_id, event, value, ts,
session_id, ...). The files use only SQL both engines accept, so there is no dialect
map: :data:`DIALECT_SUBSTITUTIONS` is where one would go, and it is empty.
Parameters are ``${name}`` placeholders filled with numbers and quoted event names
only (:meth:`FeatureParams.values` checks them), never with caller text.

- DuckDB (one machine): the events Parquet file is a view, each feature is written
  with ``COPY ... TO 'OUT/<name>.parquet'``.
- Spark (any master; ``local[2]`` in tests): the file is a temporary view, each
  feature a directory ``OUT/<name>/`` of Parquet parts.

``as_of`` (epoch seconds) is the time ages are taken at and events after it are left
out; by default the latest event's time, so a rerun over the same file gives the same
tables.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path
from string import Template
from typing import Any

SQL_DIR = Path(__file__).with_name("sql")
FEATURES = ("item_popularity", "item_recency", "user_aggregates", "item_aggregates",
            "covisitation")
#: the key columns of each feature's table (unique per row)
KEYS = {"item_popularity": ("item_id",), "item_recency": ("item_id",),
        "user_aggregates": ("user_id",), "item_aggregates": ("item_id",),
        "covisitation": ("item_a", "item_b")}
#: per engine, text to replace in a query before it runs; none is needed today
DIALECT_SUBSTITUTIONS: dict[str, dict[str, str]] = {"duckdb": {}, "spark": {}}
_EVENT = re.compile(r"^[A-Za-z0-9_.:-]{1,128}\Z")


@dataclass(frozen=True)
class FeatureParams:
    half_life_seconds: float = 7 * 86_400.0
    max_gap: int = 5
    covisit_events: tuple[str, ...] = ("click", "read", "add_to_cart", "purchase")
    as_of: float | None = None

    def values(self, as_of: float) -> dict[str, str]:
        if not self.half_life_seconds > 0:
            raise ValueError("half_life_seconds must be positive")
        if not (isinstance(self.max_gap, int) and self.max_gap >= 1):
            raise ValueError("max_gap must be an integer of at least 1")
        if not self.covisit_events or not all(_EVENT.match(e) for e in self.covisit_events):
            raise ValueError("covisit_events must be event names")
        return {"as_of": _double(as_of), "half_life_seconds": _double(self.half_life_seconds),
                "max_gap": str(self.max_gap),
                "covisit_events": ", ".join(f"'{e}'" for e in self.covisit_events)}


def _double(x: float) -> str:
    # a decimal literal is DECIMAL on both engines: cast it, so the arithmetic is DOUBLE
    return f"CAST({float(x)!r} AS DOUBLE)"


def query(name: str, values: dict[str, str], engine: str) -> str:
    """The feature's SQL with its parameters filled for ``engine``."""
    sql = Template((SQL_DIR / f"{name}.sql").read_text()).substitute(values)
    for old, new in DIALECT_SUBSTITUTIONS[engine].items():
        sql = sql.replace(old, new)
    return sql


@dataclass(frozen=True)
class FeatureRun:
    engine: str
    as_of: float
    outputs: dict[str, Path]
    rows: dict[str, int]
    seconds: float


def run_duckdb(events: Path, out: Path, params: FeatureParams = FeatureParams(),
               features: tuple[str, ...] = FEATURES, threads: int | None = None) -> FeatureRun:
    import duckdb

    started = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    try:
        if threads:
            con.execute(f"SET threads = {int(threads)}")
        source = str(events).replace("'", "''")
        con.execute(f"CREATE VIEW events AS SELECT * FROM read_parquet('{source}')")
        as_of = params.as_of if params.as_of is not None else _latest(
            con.execute("SELECT MAX(ts) FROM events").fetchone()[0])
        values, outputs, rows = params.values(as_of), {}, {}
        for name in features:
            target = out / f"{name}.parquet"
            sql = query(name, values, "duckdb")
            path = str(target).replace("'", "''")
            con.execute(f"COPY ({sql}) TO '{path}' (FORMAT PARQUET)")
            outputs[name] = target
            rows[name] = con.execute("SELECT COUNT(*) FROM read_parquet(?)", [str(target)]).fetchone()[0]
    finally:
        con.close()
    return FeatureRun("duckdb", as_of, outputs, rows, time.perf_counter() - started)


def run_spark(spark: Any, events: Path | str, out: Path | str, params: FeatureParams = FeatureParams(),
              features: tuple[str, ...] = FEATURES) -> FeatureRun:
    """On ``spark`` (a SparkSession); ``events`` and ``out`` are paths its executors
    can reach (a local path in ``local[*]`` mode, else a shared store's URL)."""
    started = time.perf_counter()
    spark.read.parquet(str(events)).createOrReplaceTempView("events")
    as_of = params.as_of if params.as_of is not None else _latest(
        spark.sql("SELECT MAX(ts) AS m FROM events").collect()[0]["m"])
    values, outputs, rows = params.values(as_of), {}, {}
    for name in features:
        target = f"{str(out).rstrip('/')}/{name}"
        spark.sql(query(name, values, "spark")).coalesce(1).write.mode("overwrite").parquet(target)
        outputs[name] = Path(target) if "://" not in target else target  # type: ignore[assignment]
        rows[name] = _count(spark, target)
    return FeatureRun("spark", as_of, outputs, rows, time.perf_counter() - started)


def _count(spark: Any, target: str) -> int:
    if "://" in target:
        return spark.read.parquet(target).count()
    import pyarrow.parquet as pq  # a local directory: the parts' footers say it

    return sum(pq.ParquetFile(p).metadata.num_rows for p in Path(target).glob("*.parquet"))


def _latest(value: float | None) -> float:
    return float(value) if value is not None else 0.0
