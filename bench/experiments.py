"""Experiments benchmark: assignment latency and throughput, and the time from
10 million exposure + event rows to a full result, against gbstats fed by a plain
pandas aggregation of the same rows (run in peers/.venv-gbstats, in one run).

    .venv/bin/python bench/experiments.py [--rows 10000000] [--ids 1000000]

Both analysis sides start from the same Parquet files and stop at a full result
(summary statistics, then frequentist, sequential and Bayesian analyses of three
metrics and the SRM check); each side times itself, without interpreter start-up.
Ends with three lines: ``assign p50 ns``, ``assign vectorised per s`` and
``analysis vitrina/gbstats time`` (a ratio; below 1 means Vitrina is faster).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import duckdb
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from vitrina.experiments.analysis import AnalysisPlan, analyse
from vitrina.experiments.assignment import Assigner
from vitrina.experiments.definitions import Experiment, Variant
from vitrina.experiments.metrics import Metric
from vitrina.experiments.summaries import summarise

GBSTATS_PYTHON = ROOT / "peers" / ".venv-gbstats" / "bin" / "python"
DAY = 86400.0
WINDOW, PRE = 7 * DAY, 14 * DAY
EXPERIMENT = Experiment("bench", (Variant("control"), Variant("b"), Variant("c")))
METRICS = (Metric("conversion", "proportion", "purchase", window=WINDOW),
           Metric("revenue", "mean", "purchase", window=WINDOW, pre_window=PRE),
           Metric("revenue_per_view", "ratio", "purchase", denominator="view", window=WINDOW))

# The gbstats side: pandas reads the same files, aggregates per unit then per
# variant, and gbstats analyses each metric with its three engines.
GBSTATS_SIDE = r'''
import json, sys, time
t0 = time.perf_counter()
import numpy as np, pandas as pd
from gbstats.gbstats import process_single_metric
from gbstats.models.settings import AnalysisSettingsForStatsEngine, MetricSettingsForStatsEngine
from gbstats.utils import check_srm
xpath, epath, window, pre = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4])
x = pd.read_parquet(xpath)
e = pd.read_parquet(epath)
# units seen in one variant only (fast idioms: object-column min/nunique is slow)
pairs = x.drop_duplicates(["unit_id", "variant"])
single = pairs[~pairs.unit_id.duplicated(keep=False)].set_index("unit_id")
first = single[["variant"]].join(x.groupby("unit_id")["timestamp"].min().rename("t0"))
m = e.merge(first, left_on="unit_id", right_index=True)
post = (m.timestamp >= m.t0) & (m.timestamp < m.t0 + window)
prep = (m.timestamp >= m.t0 - pre) & (m.timestamp < m.t0)
buy, view = m.event == "purchase", m.event == "view"
m["rev"] = np.where(post & buy, m.value, 0.0)
m["buyer"] = (post & buy).astype(float)
m["pre_rev"] = np.where(prep & buy, m.value, 0.0)
m["views"] = np.where(post & view, m.value, 0.0)
u = m.groupby("unit_id").agg(rev=("rev", "sum"), buyer=("buyer", "max"),
                             pre_rev=("pre_rev", "sum"), views=("views", "sum"))
u = first.join(u).fillna(0.0)
u["rev2"], u["pre2"], u["views2"] = u.rev ** 2, u.pre_rev ** 2, u.views ** 2
u["rev_pre"], u["rev_views"] = u.rev * u.pre_rev, u.rev * u.views
g = u.groupby("variant").agg(users=("rev", "size"), buyers=("buyer", "sum"),
                             rev=("rev", "sum"), rev2=("rev2", "sum"), pre=("pre_rev", "sum"),
                             pre2=("pre2", "sum"), rev_pre=("rev_pre", "sum"),
                             views=("views", "sum"), views2=("views2", "sum"),
                             rev_views=("rev_views", "sum")).reset_index()
agg = time.perf_counter()
var_ids = ["control", "b", "c"]
analyses = [AnalysisSettingsForStatsEngine(var_names=var_ids, var_ids=var_ids,
                                           weights=[1 / 3] * 3, stats_engine=engine,
                                           sequential_testing_enabled=seq)
            for engine, seq in (("frequentist", False), ("frequentist", True), ("bayesian", False))]
def rows(main, main2, den=None, den2=None, prod=None, cov=None, cov2=None, cprod=None):
    out = []
    for r in g.itertuples():
        row = {"dimension": "", "variation": r.variant, "users": r.users, "count": r.users,
               "main_sum": getattr(r, main), "main_sum_squares": getattr(r, main2)}
        if den:
            row.update(denominator_sum=getattr(r, den), denominator_sum_squares=getattr(r, den2),
                       main_denominator_sum_product=getattr(r, prod))
        if cov:
            row.update(covariate_sum=getattr(r, cov), covariate_sum_squares=getattr(r, cov2),
                       main_covariate_sum_product=getattr(r, cprod))
        out.append(row)
    return out
metrics = [
    (rows("buyers", "buyers"), MetricSettingsForStatsEngine(
        id="conversion", name="conversion", statistic_type="mean", main_metric_type="binomial")),
    (rows("rev", "rev2", cov="pre", cov2="pre2", cprod="rev_pre"), MetricSettingsForStatsEngine(
        id="revenue", name="revenue", statistic_type="mean_ra", main_metric_type="count",
        covariate_metric_type="count")),
    (rows("rev", "rev2", den="views", den2="views2", prod="rev_views"),
     MetricSettingsForStatsEngine(id="rpv", name="rpv", statistic_type="ratio",
                                  main_metric_type="count", denominator_metric_type="count")),
]
results = [process_single_metric(r, s, analyses) for r, s in metrics]
srm = check_srm([int(v) for v in g.set_index("variant").loc[var_ids, "users"]], [1 / 3] * 3)
end = time.perf_counter()
p = results[0].analyses[0].dimensions[0].variations[1].pValue
print(json.dumps({"seconds": end - t0, "aggregate_seconds": agg - t0, "srm": srm,
                  "conversion_b_p_value": p}))
'''


def assignment_latency(n: int = 100_000) -> float:
    assigner = Assigner(EXPERIMENT)
    ids = [str(uuid.UUID(int=i)) for i in range(n)]
    for unit in ids[:2000]:
        assigner.assign(unit)
    timer = time.perf_counter_ns
    samples = np.empty(n, dtype=np.int64)
    for i, unit in enumerate(ids):
        start = timer()
        assigner.assign(unit)
        samples[i] = timer() - start
    return float(np.percentile(samples, 50))


def vectorised_rates(n: int) -> dict[str, float]:
    """Ids per second (best of 3) for uuid strings as UTF-8 bytes (numpy ``S``, the
    form Parquet/Arrow hold), as numpy ``U`` text and as integers; and the seconds
    it takes to turn a Python list of strings into the ``U`` array."""
    assigner = Assigner(EXPERIMENT)
    rng = np.random.default_rng(0)
    as_list = [str(uuid.UUID(int=int(x))) for x in rng.integers(0, 2**62, n)]
    start = time.perf_counter()
    text = np.array(as_list)
    rates = {"list_to_array_s": time.perf_counter() - start}
    for name, ids in (("bytes", text.astype("S")), ("text", text),
                      ("int", np.arange(n, dtype=np.int64))):
        rates[name] = n / min(_timed(lambda ids=ids: assigner.assign_many(ids)) for _ in range(3))
    return rates


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def make_rows(total: int, folder: Path) -> tuple[Path, Path, int, int]:
    rng = np.random.default_rng(42)
    units = total // 4
    events = total - units
    ids = np.char.add("u", np.arange(units).astype("U9"))
    variant = Assigner(EXPERIMENT).assign_many(ids).variant_names().astype(str)
    t0 = rng.uniform(20 * DAY, 34 * DAY, units)
    who = rng.integers(0, units, events)
    kind = np.where(rng.random(events) < 0.8, "view", "purchase")
    ts = t0[who] + rng.uniform(-PRE, 10 * DAY, events)
    value = np.where(kind == "purchase", np.round(rng.exponential(30.0, events), 2), 1.0)
    xpath, epath = folder / "exposures.parquet", folder / "events.parquet"
    con = duckdb.connect()
    con.register("x", {"unit_id": ids, "variant": variant, "timestamp": t0})
    con.register("e", {"unit_id": ids[who], "event": kind, "timestamp": ts, "value": value})
    # through a projection: written straight from numpy text, DuckDB dictionary-encodes
    # the unit ids into files 6x larger that it then reads 10x slower
    for table, path in (("x", xpath), ("e", epath)):
        con.execute(f"COPY (SELECT * REPLACE (CAST(unit_id AS VARCHAR) AS unit_id) FROM {table}) "
                    f"TO '{path}' (FORMAT parquet)")
    con.close()
    return xpath, epath, units, events


def vitrina_analysis(xpath: Path, epath: Path) -> tuple[float, float, object]:
    start = time.perf_counter()
    summary = summarise(str(xpath), str(epath), METRICS)
    mid = time.perf_counter()
    result = analyse(EXPERIMENT, summary, AnalysisPlan(METRICS))
    return time.perf_counter() - start, mid - start, result


def gbstats_analysis(xpath: Path, epath: Path) -> dict | None:
    if not GBSTATS_PYTHON.exists():
        return None
    out = subprocess.run([str(GBSTATS_PYTHON), "-c", GBSTATS_SIDE, str(xpath), str(epath),
                          str(WINDOW), str(PRE)], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--ids", type=int, default=1_000_000)
    args = parser.parse_args()

    p50 = assignment_latency()
    print(f"single-call assignment: p50 {p50:.0f} ns (aim < 2000)")
    rates = vectorised_rates(args.ids)
    rate = rates["bytes"]
    print(f"vectorised over {args.ids:,} uuid strings: {rate / 1e6:.1f} M/s as UTF-8 bytes "
          f"(numpy S; aim > 10 M/s), {rates['text'] / 1e6:.1f} M/s as numpy U text; "
          f"integer ids {rates['int'] / 1e6:.1f} M/s; making the U array from a Python list "
          f"took {rates['list_to_array_s']:.2f} s")

    with tempfile.TemporaryDirectory() as tmp:
        xpath, epath, units, events = make_rows(args.rows, Path(tmp))
        print(f"rows: {units:,} exposures + {events:,} events = {units + events:,} "
              f"(Parquet, {(xpath.stat().st_size + epath.stat().st_size) / 1e6:.0f} MB)")
        ours, ours_summary, result = vitrina_analysis(xpath, epath)
        p_ours = result.result("conversion", "b").frequentist.p_value
        print(f"vitrina: {ours:.2f} s to a full result ({ours_summary:.2f} s DuckDB summary, "
              f"{ours - ours_summary:.3f} s analyses; SRM p={result.srm.p_value:.3f})")
        theirs = gbstats_analysis(xpath, epath)
        if theirs is None:
            print("gbstats + pandas: skipped (peers not built: run peers/make_references.sh)")
        else:
            print(f"gbstats + pandas: {theirs['seconds']:.2f} s to a full result "
                  f"({theirs['aggregate_seconds']:.2f} s pandas aggregation; "
                  f"same conversion p-value: {abs(theirs['conversion_b_p_value'] - p_ours) < 1e-9})")

    print(f"assign p50 ns: {p50:.0f}")
    print(f"assign vectorised per s: {rate:.0f}")
    if theirs is None:
        print("analysis vitrina/gbstats time: n/a (peers not built)")
    else:
        print(f"analysis vitrina/gbstats time: {ours / theirs['seconds']:.2f}")


if __name__ == "__main__":
    main()
