"""Summary statistics per variant from exposure and event tables, with DuckDB.

Inputs are two tables (a Parquet/CSV path, a DuckDB relation, a pandas/polars/
arrow frame, or a dict of numpy columns):

- exposures: ``unit_id``, ``variant``, ``timestamp`` (and ``experiment``, used to
  filter when given). A unit's first exposure starts its attribution window; a
  unit exposed to more than one variant is dropped from the analysis and counted;
- events: ``unit_id``, ``event``, ``timestamp`` and optionally ``value`` (1 if absent).

Timestamps are numbers (seconds) or SQL timestamps. One pass joins each unit's
events to its first exposure and aggregates per unit then per variant; the sums
are the sufficient statistics of :mod:`vitrina.experiments.stats`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb

from vitrina.experiments.errors import InvalidLogs, InvalidMetric
from vitrina.experiments.metrics import Metric, MetricKind, Summary
from vitrina.experiments.stats.statistics import (
    Adjusted,
    Proportion,
    Ratio,
    SampleMean,
    Statistic,
)


def _register(con: duckdb.DuckDBPyConnection, name: str, table: Any) -> None:
    if isinstance(table, (str, Path)):
        path = str(table)
        reader = con.read_parquet if path.endswith(".parquet") else con.read_csv
        reader(path).create_view(name)
    elif isinstance(table, duckdb.DuckDBPyRelation):
        con.register(name, table.fetchnumpy())  # a relation of another connection
    else:
        con.register(name, table)


def _seconds(con: duckdb.DuckDBPyConnection, table: str, column: str) -> str:
    types = {r[0]: r[1] for r in con.execute(f"DESCRIBE {table}").fetchall()}
    if column not in types:
        raise InvalidLogs(f"table {table!r} has no column {column!r}",
                          details={"columns": sorted(types)})
    kind = types[column].upper()
    if kind.startswith("TIMESTAMP") or kind == "DATE":
        return f"epoch({column})"
    return f"CAST({column} AS DOUBLE)"


def _literal(name: str) -> str:
    return "'" + name.replace("'", "''") + "'"


def _unit_value(metric: Metric, event: str, lo: str, hi: str) -> str:
    inside = f"e.event = {_literal(event)} AND e.ts >= {lo} AND e.ts < {hi}"
    if metric.kind == MetricKind.PROPORTION:
        return f"max(CASE WHEN {inside} THEN 1.0 ELSE 0.0 END)::DOUBLE"
    if metric.aggregate == "count":
        return f"count(CASE WHEN {inside} THEN 1 END)::DOUBLE"
    return f"coalesce(sum(CASE WHEN {inside} THEN e.value END), 0.0)::DOUBLE"


def _columns(metrics: tuple[Metric, ...], end: float | None) -> tuple[list[str], list[str]]:
    """Per-unit expressions and the per-variant sums over them."""
    per_unit, sums = [], []
    stop = None if end is None else repr(float(end))
    for i, m in enumerate(metrics):
        if m.window:
            hi = f"x.t0 + {m.window!r}" if stop is None else f"least(x.t0 + {m.window!r}, {stop})"
        else:
            hi = "'infinity'::DOUBLE" if stop is None else stop
        parts = {"m": (m.event, "x.t0", hi)}
        if m.denominator:
            parts["d"] = (m.denominator, "x.t0", hi)
        if m.pre_window:
            parts["c"] = (m.event, f"x.t0 - {m.pre_window!r}", "x.t0")
        for tag, (event, lo, up) in parts.items():
            per_unit.append(f"{_unit_value(m, event, lo, up)} AS {tag}{i}")
            sums += [f"sum({tag}{i}) AS {tag}{i}_s", f"sum({tag}{i} * {tag}{i}) AS {tag}{i}_ss"]
        for tag in ("d", "c"):
            if tag in parts:
                sums.append(f"sum(m{i} * {tag}{i}) AS m{i}{tag}_sp")
    return per_unit, sums


def _moment(metric: Metric, n: int, s: float, ss: float) -> Proportion | SampleMean:
    if metric.kind == MetricKind.PROPORTION:
        return Proportion(n, s)
    return SampleMean(n, s, ss)


def summarise(exposures: Any, events: Any, metrics: tuple[Metric, ...] | list[Metric], *,
              experiment: str | None = None, end: float | None = None,
              by_day: bool = False) -> Summary | list[tuple[int, Summary]]:
    """Summary statistics per variant. With ``by_day``, a list of
    ``(day, cumulative summary of the units first exposed up to that day)`` (days
    since the epoch, UTC), for effect-over-time plots."""
    metrics = tuple(metrics)
    names = [m.name for m in metrics]
    if len(set(names)) != len(names):
        raise InvalidMetric("metric names must be unique")
    con = duckdb.connect()
    try:
        con.execute("SET enable_progress_bar = false")
        rows, cols, multiple = _query(con, exposures, events, metrics, experiment, end, by_day)
    finally:
        con.close()
    parts: dict[int, Summary] = {}
    for row in rows:
        r = dict(zip(cols, row))
        part = _row_summary(metrics, r)
        parts[r["day"]] = parts[r["day"]] + part if r["day"] in parts else part
    if not by_day:
        total = parts.get(0, Summary({}, {m.name: {} for m in metrics}))
        return Summary(total.units, total.metrics, multiple)
    out, running = [], None
    for d in sorted(parts):
        running = parts[d] if running is None else running + parts[d]
        out.append((int(d), running))
    return out


def _query(con: duckdb.DuckDBPyConnection, exposures: Any, events: Any,
           metrics: tuple[Metric, ...], experiment: str | None, end: float | None,
           by_day: bool) -> tuple[list, list[str], int]:
    _register(con, "exposures_in", exposures)
    _register(con, "events_in", events)
    xts, ets = _seconds(con, "exposures_in", "timestamp"), _seconds(con, "events_in", "timestamp")
    ecols = {r[0] for r in con.execute("DESCRIBE events_in").fetchall()}
    xcols = {r[0] for r in con.execute("DESCRIBE exposures_in").fetchall()}
    for table, cols, need in (("exposures", xcols, ("unit_id", "variant")),
                              ("events", ecols, ("unit_id", "event"))):
        missing = [c for c in need if c not in cols]
        if missing:
            raise InvalidLogs(f"{table} miss column(s) {missing}", details={"columns": sorted(cols)})
    value = "CAST(value AS DOUBLE)" if "value" in ecols else "1.0::DOUBLE"
    params: dict[str, Any] = {}
    where = ""
    if experiment is not None:
        if "experiment" not in xcols:
            raise InvalidLogs("exposures have no 'experiment' column to filter on")
        where, params["experiment"] = "WHERE experiment = $experiment", experiment
    # first exposure per unit; min/max of the variant tell single from multiple exposure
    con.execute(f"""CREATE TEMP TABLE first_exposure AS
        SELECT CAST(unit_id AS VARCHAR) AS unit_id, min(CAST(variant AS VARCHAR)) AS variant,
               max(CAST(variant AS VARCHAR)) AS last_variant, min({xts}) AS t0
        FROM exposures_in {where} GROUP BY 1""", params)
    multiple = con.execute("SELECT count(*) FROM first_exposure "
                           "WHERE variant <> last_variant").fetchone()[0]
    # names are validated (letters, digits, '_.:-'): inlined, an IN list is far quicker
    # than a list parameter here
    wanted = ", ".join(_literal(n) for n in sorted({m.event for m in metrics} | {
        m.denominator for m in metrics if m.denominator}))
    per_unit, sums = _columns(metrics, end)
    day = "floor(any_value(x.t0) / 86400)::BIGINT" if by_day else "0"
    sql = f"""
    WITH x AS (SELECT unit_id, variant, t0 FROM first_exposure WHERE variant = last_variant),
    e AS (SELECT CAST(unit_id AS VARCHAR) AS unit_id, CAST(event AS VARCHAR) AS event,
                 {ets} AS ts, {value} AS value
          FROM events_in WHERE CAST(event AS VARCHAR) IN ({wanted})),
    u AS (SELECT any_value(x.variant) AS variant, {day} AS day,
                 {', '.join(per_unit) or '0 AS none'}
          FROM x LEFT JOIN e ON e.unit_id = x.unit_id GROUP BY x.unit_id)
    SELECT variant, day, count(*) AS n {''.join(', ' + s for s in sums)}
    FROM u GROUP BY variant, day ORDER BY day, variant"""
    rows = con.execute(sql).fetchall()
    return rows, [d[0] for d in con.description], int(multiple)


def _row_summary(metrics: tuple[Metric, ...], r: dict[str, Any]) -> Summary:
    variant, n = r["variant"], int(r["n"])
    r = {k: (float(v) if k not in ("variant", "day", "n") and v is not None else v)
         for k, v in r.items()}
    stats: dict[str, dict[str, Statistic]] = {}
    for i, m in enumerate(metrics):
        main = _moment(m, n, r[f"m{i}_s"], r[f"m{i}_ss"])
        stat: Statistic = main
        if m.denominator:
            den = SampleMean(n, r[f"d{i}_s"], r[f"d{i}_ss"])
            stat = Ratio(main, den, r[f"m{i}d_sp"])
        elif m.pre_window:
            pre = _moment(m, n, r[f"c{i}_s"], r[f"c{i}_ss"])
            stat = Adjusted(main, pre, r[f"m{i}c_sp"])
        stats[m.name] = {variant: stat}
    return Summary({variant: n}, stats, 0)
