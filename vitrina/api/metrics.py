"""Prometheus metrics: one registry per app (no global state), an ASGI middleware."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily

#: outcomes of an upload (``vitrina_ingest_total``'s label)
CREATED, DUPLICATE, REJECTED = "created", "duplicate", "rejected"
#: the /img route's label in ``vitrina_http_requests_total`` (a template, like every route's)
IMAGE_ROUTE = "/img/{signature}/{ops}/{asset_id}"


class Metrics:
    def __init__(self, queue_depth: Callable[[], dict[str, int]]) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("vitrina_http_requests_total", "HTTP requests", ["method", "route", "status"],
                                registry=self.registry)
        self.latency = Histogram("vitrina_http_request_seconds", "HTTP request latency", ["route"],
                                 registry=self.registry)
        self.ingested = Counter("vitrina_ingest_total", "Uploads by outcome", ["outcome"], registry=self.registry)
        # recommendations, per surface and the model and variant that answered (decision 031)
        self.recs_latency = Histogram(
            "vitrina_recs_request_seconds", "Time to answer GET /v1/recommendations",
            ["surface", "model", "variant"], registry=self.registry,
            buckets=(.001, .002, .003, .005, .0075, .01, .015, .02, .03, .05, .1, .25, .5, 1, 2.5))
        self.recs_served = Counter("vitrina_recs_served_total", "Recommendation answers",
                                   ["surface", "model", "variant", "fallback"], registry=self.registry)
        self.registry.register(_QueueCollector(queue_depth))
        for outcome in (CREATED, DUPLICATE, REJECTED):  # every outcome has a sample from the start
            self.ingested.labels(outcome)
        self._image_counters: dict[tuple[str, int], Any] = {}

    def ingest(self, outcome: str) -> None:
        """One upload ended ``outcome`` (created, duplicate or rejected)."""
        self.ingested.labels(outcome).inc()

    def image_request(self, method: str, status: int) -> None:
        """One answer of the raw /img route: a dict lookup and an increment (the memory-cache
        hit path pays nothing more; no latency is observed there)."""
        counter = self._image_counters.get((method, status))
        if counter is None:
            counter = self._image_counters[(method, status)] = self.requests.labels(
                method, IMAGE_ROUTE, str(status))
        counter.inc()


class _QueueCollector:
    """Queue depth read from the catalog at scrape time, so every process agrees."""

    def __init__(self, depth: Callable[[], dict[str, int]]) -> None:
        self.depth = depth

    def collect(self):
        family = GaugeMetricFamily("vitrina_step_runs", "Step runs by state", labels=["state"])
        try:
            for state, n in sorted(self.depth().items()):
                family.add_metric([state], n)
        except Exception:  # noqa: BLE001, S110  a scrape must not fail because the catalog blinked
            pass
        yield family


class MetricsMiddleware:
    def __init__(self, app: Any, metrics: Metrics) -> None:
        self.app, self.metrics = app, metrics

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http" or scope["path"].startswith("/img/"):  # the image app counts its own
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = {"code": 500}

        async def send_wrapper(message: dict) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            route = scope.get("route")
            path = getattr(route, "path", "unmatched")  # templates, not raw paths: bounded labels
            self.metrics.requests.labels(scope["method"], path, str(status["code"])).inc()
            self.metrics.latency.labels(path).observe(time.perf_counter() - started)
