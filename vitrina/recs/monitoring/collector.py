"""The monitoring's figures on /metrics (decision 033): every project's
:func:`~vitrina.recs.monitoring.report.monitor` as gauges, computed at scrape time at
most every ``ttl`` seconds."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import select

from vitrina.recs.monitoring.report import Report, monitor
from vitrina.storage.catalog.projects import ProjectRow

log = logging.getLogger(__name__)

#: seconds between two computations: each runs up to eight statements per project over
#: two days of events, for figures of a day that five minutes hardly move
TTL = 300.0


def projects(sessions: Any) -> list[str]:
    with sessions() as s:
        return list(s.scalars(select(ProjectRow.id).order_by(ProjectRow.id)))


GAUGES = {
    "vitrina_recs_impressions": ("Impressions of served lists in the last 24 h", lambda v: v.impressions),
    "vitrina_recs_requests": ("Served lists with an impression in the last 24 h", lambda v: v.requests),
    "vitrina_recs_clicks": ("Impressions clicked (same request and item), last 24 h", lambda v: v.clicks),
    "vitrina_recs_ctr": ("Clicked impressions / impressions, last 24 h", lambda v: v.ctr),
    "vitrina_recs_conversion": ("Requests with a purchase / requests, last 24 h", lambda v: v.conversion),
    "vitrina_recs_coverage": ("Active items impressed / active items, last 24 h", lambda v: v.coverage),
}


class MonitorCollector:
    """The figures of :func:`monitor` for every project as gauges, computed at scrape
    time at most every ``ttl`` seconds; a failure logs and serves the last figures."""

    def __init__(self, sessions: Any, ttl: float = TTL,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.sessions, self.ttl, self.clock = sessions, ttl, clock
        self._reports: list[Report] = []
        self._at: float | None = None
        self._lock = threading.Lock()

    def reports(self) -> list[Report]:
        with self._lock:
            if self._at is None or self.clock() - self._at >= self.ttl:
                self._at = self.clock()  # a failing catalog is retried after ttl too
                last = {r.project: r for r in self._reports}
                try:
                    names = projects(self.sessions)
                except Exception:
                    log.exception("recommender monitoring: no project list; serving the last figures")
                    names = list(last)
                fresh = []
                for p in names:
                    try:
                        fresh.append(monitor(self.sessions, p))
                    except Exception:
                        log.exception("recommender monitoring of %s failed; serving its last figures", p)
                        fresh.extend([last[p]] if p in last else [])
                self._reports = fresh
            return self._reports

    def collect(self) -> Iterable[Any]:
        from prometheus_client.core import GaugeMetricFamily

        try:
            reports = self.reports()
        except Exception:  # noqa: BLE001  a scrape never fails on our account
            reports = []
        labels = ["project", "model", "variant"]
        for name, (doc, value) in GAUGES.items():
            family = GaugeMetricFamily(name, doc, labels=labels)
            for r in reports:
                for v in r.variants:
                    if (x := value(v)) is not None:
                        family.add_metric([r.project, v.model, v.variant or ""], x)
            yield family
        family = GaugeMetricFamily("vitrina_recs_psi", "Feature drift (PSI), last 24 h against "
                                   "the 24 h before", labels=[*labels, "feature"])
        for r in reports:
            for v in r.variants:
                for feature, d in v.drift.items():
                    if d.psi is not None:
                        family.add_metric([r.project, v.model, v.variant or "", feature], d.psi)
        yield family
