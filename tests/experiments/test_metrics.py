"""Summary statistics from exposure and event tables (DuckDB) equal a direct
numpy computation, with attribution windows, CUPED covariates and ratios."""

from __future__ import annotations

import duckdb
import numpy as np
import pytest

from vitrina.experiments.errors import InvalidLogs, InvalidMetric
from vitrina.experiments.metrics import Metric, Summary
from vitrina.experiments.stats import Adjusted, Proportion, Ratio, SampleMean
from vitrina.experiments.summaries import summarise

from .conftest import close

HOUR, DAY = 3600.0, 86400.0


@pytest.fixture(scope="module")
def logs():
    rng = np.random.default_rng(5)
    n, k = 3000, 12000
    units = np.array([f"user-{i}" for i in range(n)])
    variant = rng.choice(["control", "treatment"], n)
    t0 = rng.uniform(0, 5 * DAY, n)
    exposures = {"unit_id": units, "variant": variant, "timestamp": t0}
    who = rng.integers(0, n, k)
    events = {"unit_id": units[who], "event": rng.choice(["buy", "view", "other"], k),
              "timestamp": t0[who] + rng.uniform(-3 * DAY, 3 * DAY, k),
              "value": np.round(rng.exponential(20, k), 2)}
    return exposures, events


def _per_unit(exposures, events, name, lo_off, hi_off, count=False, any_=False):
    """Per-unit values in [t0 + lo_off, t0 + hi_off) by plain numpy."""
    index = {u: i for i, u in enumerate(exposures["unit_id"])}
    out = np.zeros(len(index))
    for u, e, t, v in zip(events["unit_id"], events["event"], events["timestamp"],
                          events["value"]):
        i = index[u]
        t0 = exposures["timestamp"][i]
        if e == name and t0 + lo_off <= t < t0 + hi_off:
            out[i] += 1 if (count or any_) else v
    return (out > 0).astype(float) if any_ else out


def test_summary_equals_numpy(logs):
    exposures, events = logs
    metrics = (Metric("buyers", "proportion", "buy", window=DAY),
               Metric("revenue", "mean", "buy", window=2 * DAY, pre_window=3 * DAY),
               Metric("views", "mean", "view", aggregate="count"),
               Metric("revenue_per_view", "ratio", "buy", denominator="view", window=DAY))
    summary = summarise(exposures, events, metrics)
    buyers = _per_unit(exposures, events, "buy", 0, DAY, any_=True)
    revenue = _per_unit(exposures, events, "buy", 0, 2 * DAY)
    pre = _per_unit(exposures, events, "buy", -3 * DAY, 0)
    views = _per_unit(exposures, events, "view", 0, np.inf, count=True)
    num = _per_unit(exposures, events, "buy", 0, DAY)
    den = _per_unit(exposures, events, "view", 0, DAY)  # views carry values: summed
    for v in ("control", "treatment"):
        m = exposures["variant"] == v
        assert summary.units[v] == m.sum()
        assert summary.metrics["buyers"][v] == Proportion(int(m.sum()), float(buyers[m].sum()))
        adj = summary.metrics["revenue"][v]
        assert isinstance(adj, Adjusted)
        assert close(adj.post.sum, revenue[m].sum(), 1e-9)
        assert close(adj.pre.sum_squares, (pre[m] ** 2).sum(), 1e-9)
        assert close(adj.sum_products, (revenue[m] * pre[m]).sum(), 1e-9)
        vs = summary.metrics["views"][v]
        assert isinstance(vs, SampleMean) and vs.sum == views[m].sum()
        ratio = summary.metrics["revenue_per_view"][v]
        assert isinstance(ratio, Ratio)
        assert close(ratio.denominator.sum, den[m].sum(), 1e-9)
        assert close(ratio.numerator.sum, num[m].sum(), 1e-9)
        assert close(ratio.sum_products, (num[m] * den[m]).sum(), 1e-9)


def test_multiple_exposures_are_dropped_and_counted():
    exposures = {"unit_id": np.array(["a", "b", "b", "c", "c"]),
                 "variant": np.array(["x", "x", "y", "y", "y"]),
                 "timestamp": np.array([0.0, 1.0, 2.0, 3.0, 1.0])}
    events = {"unit_id": np.array(["c", "c"]), "event": np.array(["buy", "buy"]),
              "timestamp": np.array([1.5, 0.5])}
    s = summarise(exposures, events, [Metric("buy", "mean", "buy", aggregate="count")])
    assert s.units == {"x": 1, "y": 1}
    assert s.multiple_exposures == 1
    # c's first exposure is at 1.0: the event at 0.5 is before it
    assert s.metrics["buy"]["y"].sum == 1


def test_parquet_and_timestamps_and_experiment_filter(tmp_path, logs):
    exposures, events = logs
    con = duckdb.connect()
    con.register("x", exposures)
    con.register("e", events)
    xp, ep = tmp_path / "x.parquet", tmp_path / "e.parquet"
    con.execute(f"COPY (SELECT unit_id, variant, 'exp1' AS experiment, "
                f"make_timestamp(CAST(timestamp * 1e6 AS BIGINT)) AS timestamp FROM x) "
                f"TO '{xp}' (FORMAT parquet)")
    con.execute(f"COPY (SELECT unit_id, event, value, "
                f"make_timestamp(CAST(timestamp * 1e6 AS BIGINT)) AS timestamp FROM e) "
                f"TO '{ep}' (FORMAT parquet)")
    metric = [Metric("revenue", "mean", "buy", window=DAY)]
    from_files = summarise(str(xp), str(ep), metric, experiment="exp1")
    from_arrays = summarise(exposures, events, metric)
    for v in ("control", "treatment"):
        assert from_files.units[v] == from_arrays.units[v]
        assert close(from_files.metrics["revenue"][v].sum, from_arrays.metrics["revenue"][v].sum,
                     1e-9)
    assert summarise(str(xp), str(ep), metric, experiment="other").units == {}


def test_daily_cumulative_summaries_end_at_the_total(logs):
    exposures, events = logs
    metric = [Metric("buyers", "proportion", "buy")]
    days = summarise(exposures, events, metric, by_day=True)
    total = summarise(exposures, events, metric)
    assert [d for d, _ in days] == sorted(d for d, _ in days) and len(days) == 5
    assert days[-1][1].units == total.units
    assert days[-1][1].metrics == total.metrics
    sizes = [sum(s.units.values()) for _, s in days]
    assert sizes == sorted(sizes) and sizes[0] > 0


def test_end_cuts_events(logs):
    exposures, events = logs
    metric = [Metric("revenue", "mean", "buy")]
    full = summarise(exposures, events, metric)
    cut = summarise(exposures, events, metric, end=2 * DAY)
    assert cut.metrics["revenue"]["control"].sum < full.metrics["revenue"]["control"].sum


def test_summary_round_trips_through_dicts(logs):
    exposures, events = logs
    s = summarise(exposures, events, [Metric("r", "ratio", "buy", denominator="view")])
    assert Summary.from_dict(s.to_dict()) == s


def test_bad_metrics_and_logs_are_refused(logs):
    exposures, events = logs
    with pytest.raises(InvalidMetric):
        Metric("x", "ratio", "buy")
    with pytest.raises(InvalidMetric):
        Metric("x'; drop", "mean", "buy")
    with pytest.raises(InvalidMetric):
        Metric("x", "median", "buy")
    with pytest.raises(InvalidMetric):
        Metric("x", "ratio", "buy", denominator="view", pre_window=DAY)
    with pytest.raises(InvalidLogs):
        summarise({"unit_id": np.array(["a"]), "variant": np.array(["x"])}, events,
                  [Metric("m", "mean", "buy")])
    with pytest.raises(InvalidMetric):
        summarise(exposures, events, [Metric("m", "mean", "buy"), Metric("m", "mean", "view")])
