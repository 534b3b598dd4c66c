"""`vitrina recs report`: serving health per model and variant (decision 033)."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from typing import Any

import click

from vitrina.cli.common import runtime_of, settings_of
from vitrina.cli.recs import _fail
from vitrina.storage.catalog.projects import DEFAULT_PROJECT

POSITIVE = click.FloatRange(min=0, min_open=True)
PROJECT = click.option("--project", default=DEFAULT_PROJECT, show_default=True,
                       help="The project to report on.")
#: seconds to wait for a server's /metrics
TIMEOUT = 3.0


def default_metrics_url(settings: Any) -> str:
    """The /metrics of the server the settings name (as `vitrina serve` binds it)."""
    base = settings.public_base_url.rstrip("/")
    if not base:
        host = settings.server.host if settings.server.host not in ("0.0.0.0", "::") else "127.0.0.1"
        base = f"http://{host}:{settings.server.port}"
    return f"{base}/metrics"


def fetch_latency(url: str) -> tuple[dict[tuple[str, str], dict[str, float]] | None, str | None]:
    """(quantiles per model and variant, None), or (None, why there are none)."""
    import urllib.error
    import urllib.request

    from vitrina.recs.monitoring import latency_quantiles

    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT) as answer:
            text = answer.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        return None, f"{url} answered {exc.code}"
    except (urllib.error.URLError, OSError):
        return None, f"no server at {url}"
    try:
        return latency_quantiles(text), None
    except (ValueError, KeyError):
        return None, f"{url} did not answer Prometheus text"


def _interval(value: float | None, bounds: tuple[float, float] | None) -> str:
    if value is None:
        return f"{'-':>24}"
    return f"{value:.4f} [{bounds[0]:.4f}, {bounds[1]:.4f}]" if bounds else f"{value:.4f}"


def _when(t: float) -> str:
    try:
        return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%d %H:%M")
    except (ValueError, OverflowError, OSError):  # before year 1 (a --since of millennia)
        return f"epoch {t:.0f}"


def _table(report: Any) -> list[str]:
    w = report.window
    hours = (w.until - w.since) / 3600
    head = (f"recommendations in {report.project}, {_when(w.since)} to {_when(w.until)} UTC "
            f"({hours:g} h); drift against {_when(report.reference.since)} to "
            f"{_when(report.reference.until)}; {report.active_items} active items")
    lines = [head]
    if not report.variants:
        return [*lines, "no impressions of served lists in this window"]
    lines.append(f"{'model':14} {'variant':12} {'impressions':>11} {'requests':>8}  "
                 f"{'CTR [95% CI]':24}  {'conversion [95% CI]':24}  {'coverage':>8}")
    for v in report.variants:
        coverage = f"{v.coverage:.4f}" if v.coverage is not None else "-"
        lines.append(f"{v.model:14} {v.variant or '-':12} {v.impressions:>11} {v.requests:>8}  "
                     f"{_interval(v.ctr, v.ctr_interval):24}  "
                     f"{_interval(v.conversion, v.conversion_interval):24}  {coverage:>8}")
    lines.append("drift (PSI; < 0.1 stable, 0.1-0.25 moderate, > 0.25 significant):")
    for v in report.variants:
        cells = [f"{name} {d.psi:.3f} {d.reading}" if d.psi is not None else f"{name} - (no data)"
                 for name, d in v.drift.items()]
        lines.append(f"{v.model:14} {v.variant or '-':12} " + "   ".join(cells))
    return lines


def _latency_lines(url: str, latency: dict | None, error: str | None) -> list[str]:
    if latency is None:
        return [f"latency: {error}"]
    if not latency:
        return [f"latency: {url} has no recommendation answers yet"]
    lines = [f"latency (every project and surface, from {url}):"]
    for (model, variant), q in latency.items():
        cells = "  ".join(f"{k} {v * 1000:.2f} ms" if not math.isnan(v) else f"{k} -"
                          for k, v in q.items() if k != "count")
        lines.append(f"{model:14} {variant or '-':12} {cells}  ({q['count']:.0f} answers)")
    return lines


@click.command("report")
@click.option("--since", "since", type=POSITIVE, metavar="SECONDS_AGO",
              help="The window starts this many seconds ago (default: 86400, the last 24 h).")
@click.option("--hours", type=POSITIVE, metavar="H", help="The window is the last H hours.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object instead of the table.")
@click.option("--metrics-url", metavar="URL", help="A running server's /metrics, for latency "
              "(default: the server the settings name).")
@PROJECT
@click.pass_context
def recs_report(ctx: click.Context, since: float | None, hours: float | None, as_json: bool,
                metrics_url: str | None, project: str) -> None:
    """Per model and variant over a window ending now: impressions, requests, CTR and
    conversion with 95% Wilson intervals, catalogue coverage, and the drift (PSI) of the
    impressed items' popularity decile, the shown users' activity and the items' age
    against the window of the same length just before. A click counts for the
    impression of its request and item, a purchase for its request. Latency p50/p99
    come from a running server's /metrics."""
    from vitrina.errors import VitrinaError
    from vitrina.recs.monitoring import WINDOW_SECONDS, Window, monitor

    if since is not None and hours is not None:
        raise click.UsageError("give --since or --hours, not both")
    if metrics_url is not None and not metrics_url.startswith(("http://", "https://")):
        raise click.BadParameter("an http:// or https:// URL", param_hint="--metrics-url")
    seconds = since if since is not None else hours * 3600 if hours is not None else WINDOW_SECONDS
    url = metrics_url or default_metrics_url(settings_of(ctx))
    rt = runtime_of(ctx)
    try:
        report = monitor(rt.sessions, project, Window.last(seconds))
    except VitrinaError as exc:
        raise _fail(exc) from None
    finally:
        rt.close()
    latency, error = fetch_latency(url)
    if as_json:
        rows = None if latency is None else [
            {"model": m, "variant": v or None, **{k: None if math.isnan(x) else x for k, x in q.items()}}
            for (m, v), q in latency.items()]
        click.echo(json.dumps({**report.to_dict(), "latency": {"url": url, "variants": rows,
                                                                 "error": error}}))
        return
    for line in [*_table(report), *_latency_lines(url, latency, error)]:
        click.echo(line)


COMMANDS = [recs_report]
