"""Counters of the image route, kept as plain integers (the hot path adds one without a
lock: it runs on the event loop) and exported to Prometheus at scrape time."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric


@dataclass
class DeliveryStats:
    memory_hits: int = 0  # answered from the in-memory cache
    blob_hits: int = 0  # read from the blob store's result cache
    renders: int = 0  # transformations started
    not_modified: int = 0  # 304s
    too_busy: int = 0  # 503s from the concurrency limiter
    errors: int = 0  # other error answers


class DeliveryCollector:
    """Reads :class:`DeliveryStats` and live gauges when Prometheus scrapes."""

    def __init__(self, stats: DeliveryStats, gauges: Callable[[], dict[str, float]]) -> None:
        self.stats, self.gauges = stats, gauges

    def collect(self) -> Iterator[Metric]:
        s = self.stats
        answers = CounterMetricFamily(
            "vitrina_image_answers",
            "Image route answers by where they came from",
            labels=["source"],
        )
        for source, n in (("memory", s.memory_hits), ("blob", s.blob_hits),
                          ("not_modified", s.not_modified), ("too_busy", s.too_busy),
                          ("error", s.errors)):  # fmt: skip
            answers.add_metric([source], n)
        yield answers
        yield CounterMetricFamily(
            "vitrina_image_transformations", "Image transformations started", value=s.renders
        )
        for name, value in self.gauges().items():
            yield GaugeMetricFamily(f"vitrina_image_{name}", f"Image route: {name}", value=value)
