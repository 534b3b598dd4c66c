"""Recommender monitoring (decision 033): events logged through the API for two models
give hand-counted impressions, CTR, conversion, coverage and drift; the same figures
reach /metrics; `vitrina recs report` prints them with latency quantiles read from a
server's histogram; the statistics against hand-worked values."""

from __future__ import annotations

import json
import math
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from click.testing import CliRunner
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from vitrina.api.metrics import Metrics
from vitrina.cli import main
from vitrina.cli.recs_report import default_metrics_url
from vitrina.errors import InvalidInput
from vitrina.experiments.stats.proportions import wilson
from vitrina.recs.monitoring import (
    MonitorCollector,
    Window,
    histogram_quantile,
    latency_quantiles,
    monitor,
    psi,
    reading,
)
from vitrina.storage.catalog.db import transaction
from vitrina.storage.catalog.experiments import EventRow
from vitrina.storage.catalog.projects import ProjectRow

DAY, HOUR = 86_400.0, 3_600.0
NOW = time.time() - 60  # the test's "now": every event is in the past
WINDOW = Window(NOW - DAY, NOW)
REFERENCE = Window(NOW - 2 * DAY, NOW - DAY)

# i0-i5 began 60 days ago, i6-i9 three hours ago; i10 ended two days ago
ITEMS = ([{"id": f"i{n}", "type": "article", "active_from": NOW - 60 * DAY} for n in range(6)]
         + [{"id": f"i{n}", "type": "article", "active_from": NOW - 3 * HOUR} for n in range(6, 10)]
         + [{"id": "i10", "type": "article", "active_from": NOW - 90 * DAY,
             "active_until": NOW - 2 * DAY}])
#: (user, event, item, request, model, variant)
SERVED = [
    # ease/control: two lists of three
    ("u1", "impression", "i0", "r1", "ease", "control"),
    ("u1", "impression", "i1", "r1", "ease", "control"),
    ("u1", "impression", "i2", "r1", "ease", "control"),
    ("u2", "impression", "i0", "r2", "ease", "control"),
    ("u2", "impression", "i3", "r2", "ease", "control"),
    ("u2", "impression", "i4", "r2", "ease", "control"),
    ("u1", "click", "i1", "r1", "ease", "control"),
    ("u1", "click", "i1", "r1", "ease", "control"),  # the same impression clicked twice
    ("u2", "click", "i5", "r2", None, None),  # i5 was not in r2's list
    ("u2", "click", "i3", None, None, None),  # no request: not attributed
    ("u1", "purchase", "i1", "r1", None, None),
    # als/treatment: three lists, nine impressions, one of an expired item
    ("u3", "impression", "i0", "r3", "als", "treatment"),
    ("u3", "impression", "i10", "r3", "als", "treatment"),
    ("u3", "impression", "i6", "r3", "als", "treatment"),
    ("u3", "impression", "i7", "r3", "als", "treatment"),
    ("u3", "impression", "i6", "r4", "als", "treatment"),
    ("u3", "impression", "i7", "r4", "als", "treatment"),
    ("u4", "impression", "i8", "r5", "als", "treatment"),
    ("u4", "impression", "i9", "r5", "als", "treatment"),
    ("u4", "impression", "i2", "r5", "als", "treatment"),
    ("u3", "click", "i6", "r3", "als", "treatment"),
    ("u3", "click", "i7", "r3", "als", "treatment"),
    ("u3", "click", "i6", "r4", "als", "treatment"),
    ("u4", "click", "i9", "r5", "als", "treatment"),
    ("u3", "purchase", "i6", "r4", "als", "treatment"),
    ("u4", "purchase", "i8", "r5", "als", "treatment"),
    ("u4", "purchase", "i9", "r5", "als", "treatment"),
    # an impression no model served: not a served list
    ("u9", "impression", "i0", None, None, None),
]


def as_events(at: float, prefix: str) -> list[dict]:
    out = []
    for n, (user, event, item, request, model, variant) in enumerate(SERVED):
        e = {"unit_id": user, "event": event, "item_id": item, "timestamp": at + n}
        e.update({k: v for k, v in (("request_id", request and prefix + request), ("model", model),
                                    ("variant", variant)) if v is not None})
        out.append(e)
    return out


@pytest.fixture
def logged(client):
    """The lists above served an hour ago and, identically, a day before that."""
    assert client.post("/v1/items", json=ITEMS).status_code == 200
    events = as_events(NOW - HOUR, "") + as_events(NOW - DAY - HOUR, "p-")
    r = client.post("/v1/events", json={"events": events})
    assert r.status_code == 201, r.text
    with transaction(client.runtime.sessions) as s:  # another project's list: never ours
        s.add(ProjectRow(id="team-b", name="Team B", quotas={}))
        s.flush()
        s.add(EventRow(project_id="team-b", unit_id="u1", event="impression", item_id="i0",
                       request_id="r1", model="ease", variant="control", timestamp=NOW - HOUR))
    return client


#: als' items i6-i9 are two hours old when shown now, not yet begun a day earlier
AGE_PSI = 2 * (6 / 9 - 1e-4) * math.log((6 / 9) / 1e-4)


def test_figures_per_model_and_variant(logged) -> None:
    report = monitor(logged.runtime.sessions, "default", WINDOW, REFERENCE)
    assert report.active_items == 10  # i0-i9; i10 has ended
    ease, als = (next(v for v in report.variants if v.model == m) for m in ("ease", "als"))
    assert [v.model for v in report.variants] == ["als", "ease"]
    assert (ease.variant, ease.impressions, ease.requests, ease.clicks) == ("control", 6, 2, 1)
    assert ease.ctr == pytest.approx(1 / 6)
    assert ease.ctr_interval == pytest.approx((0.0301, 0.5635), abs=1e-4)
    assert (ease.converted_requests, ease.conversion) == (1, 0.5)
    assert (ease.impressed_items, ease.active_impressed_items, ease.coverage) == (5, 5, 0.5)
    assert (als.variant, als.impressions, als.requests, als.clicks) == ("treatment", 9, 3, 4)
    assert als.ctr == pytest.approx(4 / 9)
    assert (als.converted_requests, als.conversion) == (2, pytest.approx(2 / 3))
    # i10 was shown but has ended: 6 of the 10 active items
    assert (als.impressed_items, als.active_impressed_items, als.coverage) == (7, 6, 0.6)

    # the report names the features in one order, run after run
    assert [list(v.drift) for v in (ease, als)] == [["popularity", "user_activity", "item_age"]] * 2
    # popularity from the reference's interest counts, ties by id: i3, i5, i7, i8 (1
    # each), i9 (2), i1, i6 (3) rank 1 to 7, deciles ceil(10 k / 7): 2, 3, 5, 6, 8, 9, 10
    assert ease.drift["popularity"].current == {"cold": 4, "9": 1, "2": 1}
    assert als.drift["popularity"].current == {"cold": 3, "10": 2, "5": 2, "6": 1, "8": 1}
    # interest events per shown user: u1 3, u2 2, u3 4, u4 3
    assert ease.drift["user_activity"].current == {"2-3": 2}
    assert als.drift["user_activity"].current == {"4-7": 1, "2-3": 1}
    assert ease.drift["item_age"].current == {"30d+": 6}
    assert als.drift["item_age"].current == {"30d+": 3, "1h-1d": 6}
    assert als.drift["item_age"].reference == {"30d+": 3, "<1h": 6}
    # the same lists a day apart: no drift, except als' items that were not yet out
    for v in (ease, als):
        for name, d in v.drift.items():
            if (v.model, name) != ("als", "item_age"):
                assert d.current == d.reference
                assert (d.psi, d.reading) == (pytest.approx(0.0, abs=1e-12), "stable")
    assert als.drift["item_age"].psi == pytest.approx(AGE_PSI)
    assert als.drift["item_age"].reading == "significant"

    other = monitor(logged.runtime.sessions, "team-b", WINDOW, REFERENCE)
    assert [(v.model, v.impressions, v.clicks, v.coverage) for v in other.variants] == \
        [("ease", 1, 0, None)]  # no items of its own: no coverage
    assert other.variants[0].drift["popularity"].psi is None  # nothing to compare with


def test_default_reference_is_the_window_before(logged) -> None:
    report = monitor(logged.runtime.sessions, "default", WINDOW)
    assert report.reference == REFERENCE
    past = monitor(logged.runtime.sessions, "default", REFERENCE)
    assert [(v.model, v.impressions, v.clicks, v.converted_requests) for v in past.variants] == \
        [("als", 9, 4, 2), ("ease", 6, 1, 1)]
    assert all(d.psi is None for v in past.variants for d in v.drift.values())  # nothing before


def test_a_window_without_served_lists_costs_two_statements(logged) -> None:
    from sqlalchemy import event

    statements = []

    def count(*args) -> None:
        if args[2].lstrip().upper().startswith(("SELECT", "WITH")):
            statements.append(args[2])

    engine = logged.runtime.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        empty = monitor(logged.runtime.sessions, "default", Window(NOW - 10 * DAY, NOW - 9 * DAY))
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert (empty.active_items, empty.variants) == (7, [])  # i0-i5 and i10 were active then
    assert len(statements) == 2  # active items and impressions; no drift without a list


def samples(text: str, name: str) -> dict[tuple, float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == name:
                out[tuple(sorted(s.labels.items()))] = s.value
    return out


def key(project: str, model: str, variant: str, **more: str) -> tuple:
    return tuple(sorted({"project": project, "model": model, "variant": variant, **more}.items()))


def test_metrics_expose_the_gauges(logged) -> None:
    text = logged.get("/metrics").text
    assert samples(text, "vitrina_recs_impressions") == {
        key("default", "als", "treatment"): 9.0, key("default", "ease", "control"): 6.0,
        key("team-b", "ease", "control"): 1.0}
    ctr = samples(text, "vitrina_recs_ctr")
    assert ctr[key("default", "ease", "control")] == pytest.approx(1 / 6)
    assert ctr[key("default", "als", "treatment")] == pytest.approx(4 / 9)
    assert samples(text, "vitrina_recs_conversion")[key("default", "als", "treatment")] == \
        pytest.approx(2 / 3)
    assert samples(text, "vitrina_recs_coverage") == {  # team-b has no items: no sample
        key("default", "als", "treatment"): 0.6, key("default", "ease", "control"): 0.5}
    drift = samples(text, "vitrina_recs_psi")
    assert {k for k in drift if dict(k)["project"] == "default"} == {
        key("default", m, v, feature=f) for m, v in (("als", "treatment"), ("ease", "control"))
        for f in ("popularity", "user_activity", "item_age")}
    assert drift[key("default", "als", "treatment", feature="item_age")] == pytest.approx(AGE_PSI)
    assert drift[key("default", "ease", "control", feature="item_age")] == pytest.approx(0, abs=1e-12)


def test_collector_caches_and_never_fails(logged, tmp_path) -> None:
    clock = [0.0]
    collector = MonitorCollector(logged.runtime.sessions, ttl=30.0, clock=lambda: clock[0])

    def impressions() -> float:
        family = next(f for f in collector.collect() if f.name == "vitrina_recs_impressions")
        return next(s.value for s in family.samples if s.labels["model"] == "ease"
                    and s.labels["project"] == "default")

    assert impressions() == 6
    r = logged.post("/v1/events", json={"events": [
        {"unit_id": "u5", "event": "impression", "item_id": "i4", "request_id": "r6",
         "model": "ease", "variant": "control", "timestamp": NOW - HOUR}]})
    assert r.status_code == 201
    clock[0] = 29.9
    assert impressions() == 6  # cached
    clock[0] = 30.0
    assert impressions() == 7

    # a catalog without tables: the scrape answers, with no samples
    from sqlalchemy import create_engine
    from sqlalchemy.orm import sessionmaker

    broken = MonitorCollector(sessionmaker(create_engine(f"sqlite:///{tmp_path / 'empty.db'}")))
    families = list(broken.collect())
    assert {f.name for f in families} >= {"vitrina_recs_ctr", "vitrina_recs_psi"}
    assert all(not f.samples for f in families)


# -- statistics by hand ---------------------------------------------------------------------

def test_wilson_by_hand() -> None:
    assert wilson(1, 6) == pytest.approx((0.0301, 0.5635), abs=1e-4)
    # no success: the upper bound is z^2 / (n + z^2)
    assert wilson(0, 10) == pytest.approx((0.0, 1.959964 ** 2 / (10 + 1.959964 ** 2)), abs=1e-6)
    assert wilson(0, 0) is None
    with pytest.raises(ValueError):
        wilson(3, 2)


def test_psi_by_hand() -> None:
    # halves against a quarter and three quarters: 0.25 ln 2 + 0.25 ln 1.5
    assert psi({"a": 50, "b": 50}, {"a": 25, "b": 75}, "ab") == pytest.approx(0.274653, abs=1e-6)
    assert psi({"a": 7, "b": 3}, {"a": 70, "b": 30}, "ab") == pytest.approx(0.0, abs=1e-12)
    # an empty bin reads as a share of 1e-4: 0.5 ln 2 + 0.4999 ln 5000
    assert psi({"a": 100}, {"a": 50, "b": 50}, "ab") == pytest.approx(4.604319, abs=1e-6)
    assert psi({}, {"a": 1}, "ab") is None
    assert [reading(x) for x in (0.0, 0.0999, 0.1, 0.25, 0.2501, None)] == \
        ["stable", "stable", "moderate", "moderate", "significant", None]


def test_histogram_quantile_by_hand() -> None:
    buckets = {0.005: 2, 0.01: 6, 0.05: 9, math.inf: 10}
    assert histogram_quantile(0.1, buckets) == pytest.approx(0.0025)  # rank 1 of 2 in (0, .005]
    assert histogram_quantile(0.5, buckets) == pytest.approx(0.00875)  # rank 5: 3 of 4 in (.005, .01]
    assert histogram_quantile(0.9, buckets) == pytest.approx(0.05)
    assert histogram_quantile(0.99, buckets) == 0.05  # in +Inf: the highest finite bound
    assert math.isnan(histogram_quantile(0.5, {0.1: 0, math.inf: 0}))
    assert math.isnan(histogram_quantile(0.5, {0.1: 3}))  # no +Inf bucket


def served_metrics() -> str:
    """A server's /metrics after four answers by ease/control on two surfaces."""
    m = Metrics(dict)
    for surface, seconds in (("home", 0.0015), ("home", 0.004), ("pdp", 0.0015), ("pdp", 0.004)):
        m.recs_latency.labels(surface, "ease", "control").observe(seconds)
    m.recs_latency.labels("home", "als", "").observe(0.2)
    return generate_latest(m.registry).decode()


def test_latency_quantiles_from_the_histogram() -> None:
    q = latency_quantiles(served_metrics())
    # cumulative over both surfaces: le .002 -> 2, .003 -> 2, .005 -> 4
    assert q[("ease", "control")]["p50"] == pytest.approx(0.002)  # rank 2: all of (.001, .002]
    assert q[("ease", "control")]["p99"] == pytest.approx(0.00496)  # rank 3.96: .003 + .002 x 1.96/2
    assert q[("ease", "control")]["count"] == 4
    assert q[("als", "")]["p50"] == pytest.approx(0.175)  # one answer in (.1, .25]


# -- the command ---------------------------------------------------------------------------

@pytest.fixture
def metrics_server():
    text = served_metrics().encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200 if self.path == "/metrics" else 404)
            self.end_headers()
            self.wfile.write(text)

        def log_message(self, *args) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cli(client, *args):
    return CliRunner().invoke(main, ["recs", "report", *map(str, args)], obj=client.runtime.settings)


def test_report_prints_the_table_and_latency(logged, metrics_server) -> None:
    r = cli(logged, "--hours", 24, "--metrics-url", f"{metrics_server}/metrics")
    assert r.exit_code == 0, r.output
    lines = r.output.splitlines()
    assert "10 active items" in lines[0] and "(24 h)" in lines[0]
    row = next(line for line in lines if line.startswith("ease ") and "0.1667" in line)
    assert row.split() == ["ease", "control", "6", "2", "0.1667", "[0.0301,", "0.5635]",
                           "0.5000", "[0.0945,", "0.9055]", "0.5000"]
    drift = next(line for line in lines if line.startswith("als ") and "item_age" in line)
    assert f"item_age {AGE_PSI:.3f} significant" in drift and "popularity 0.000 stable" in drift
    latency = lines[lines.index(next(x for x in lines if x.startswith("latency"))) + 1:]
    assert latency == ["als            -            p50 175.00 ms  p99 248.50 ms  (1 answers)",
                       "ease           control      p50 2.00 ms  p99 4.96 ms  (4 answers)"]

    r = cli(logged, "--metrics-url", f"{metrics_server}/elsewhere")
    assert r.output.splitlines()[-1] == f"latency: {metrics_server}/elsewhere answered 404"


def test_report_json_and_no_server(logged) -> None:
    url = f"http://127.0.0.1:{closed_port()}/metrics"
    r = cli(logged, "--since", 2 * HOUR, "--json", "--metrics-url", url)
    assert r.exit_code == 0, r.output
    data = json.loads(r.output)
    assert data["window"]["until"] - data["window"]["since"] == pytest.approx(2 * HOUR)
    assert data["latency"] == {"url": url, "variants": None, "error": f"no server at {url}"}
    ease = next(v for v in data["variants"] if v["model"] == "ease")
    assert (ease["impressions"], ease["clicks"], ease["converted_requests"]) == (6, 1, 1)
    assert set(ease["drift"]) == {"popularity", "user_activity", "item_age"}

    r = cli(logged, "--metrics-url", url)
    assert r.exit_code == 0 and r.output.splitlines()[-1] == f"latency: no server at {url}"


@pytest.mark.parametrize(("args", "message"), [
    (["--since", 60, "--hours", 1], "give --since or --hours, not both"),
    (["--hours", 0], "Invalid value for '--hours'"),
    (["--since", "soon"], "Invalid value for '--since'"),
    (["--hours", "inf"], "a window is two finite epoch times"),
    (["--metrics-url", "ftp://x/metrics"], "an http:// or https:// URL"),
])
def test_report_bad_options(client, args, message) -> None:
    r = cli(client, *args)
    assert r.exit_code != 0 and message in r.output, r.output


def test_report_window_older_than_the_calendar(client) -> None:
    r = cli(client, "--since", 1e11, "--metrics-url", f"http://127.0.0.1:{closed_port()}/metrics")
    assert r.exit_code == 0, r.output
    assert "to epoch " in r.output.splitlines()[0]  # the reference starts before year 1
    assert "no impressions of served lists in this window" in r.output


def test_report_help() -> None:
    r = CliRunner().invoke(main, ["recs", "report", "--help"])
    assert r.exit_code == 0
    assert all(o in r.output for o in ("--since SECONDS_AGO", "--hours H", "--json", "--metrics-url URL",
                                       "--project", "Wilson", "PSI"))


def test_window_is_checked() -> None:
    assert Window(100.0, 160.0).before() == Window(40.0, 100.0)
    for since, until in ((10.0, 10.0), (20.0, 10.0), (-math.inf, 10.0), (0.0, math.nan)):
        with pytest.raises(InvalidInput, match="since before until"):
            Window(since, until)


def test_default_metrics_url(client) -> None:
    settings = client.runtime.settings
    assert default_metrics_url(settings) == "http://127.0.0.1:8000/metrics"
    other = settings.model_copy(update={"public_base_url": "https://media.example.com/"})
    assert default_metrics_url(other) == "https://media.example.com/metrics"
