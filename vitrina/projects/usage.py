"""What each project uses: what it holds (from the assets table) and what it served
(counters in the ``usage`` table, one row per project, metric and UTC day).

Traffic counters (:data:`METRICS`) are counted where the traffic happens, on paths that
must stay cheap (an image answered from memory), so :class:`UsageMeter` adds them up in
memory per process and writes them in batches; :class:`UsageService` makes the report
the API and the CLI show.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import bindparam, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from vitrina.config import ProjectSettings
from vitrina.errors import NotFound
from vitrina.projects.breakdown import Breakdown, breakdown
from vitrina.projects.quotas import QuotaService
from vitrina.storage.catalog.db import transaction
from vitrina.storage.catalog.models import Asset
from vitrina.storage.catalog.projects import ProjectRow, UsageRow

log = logging.getLogger("vitrina.usage")

RENDERS = "renders"  # uncached transformations made for /img
IMAGE_BYTES_SERVED = "image_bytes_served"  # bytes of /img answers (rendered, or from a cache)
ORIGINAL_BYTES = "original_bytes_downloaded"  # bytes of GET /v1/assets/{id}/original answers
DERIVATIVE_BYTES = "derivative_bytes_downloaded"  # bytes of derivative downloads
VIDEO_BYTES_SERVED = "video_bytes_served"  # bytes sent by /video (renditions, HLS, storyboards)
METRICS = (RENDERS, IMAGE_BYTES_SERVED, ORIGINAL_BYTES, DERIVATIVE_BYTES, VIDEO_BYTES_SERVED)
#: seconds between two writes of the counters a process holds
FLUSH_SECONDS = 5.0
#: counters kept for a later try while the catalog cannot be written (then dropped, logged)
MAX_PENDING = 100_000
BYTES_PER_GB = 10**9

USAGE = UsageRow.__table__
_u = USAGE.c
#: add a batch to the day's rows (the dialects spell upserts alike)
_ADD = {
    name: dialect.insert(USAGE)
    .values(project_id=bindparam("p_project"), metric=bindparam("p_metric"), period=bindparam("p_day"),
            value=bindparam("p_value"))
    .on_conflict_do_update(index_elements=["project_id", "metric", "period"],
                           set_={"value": _u.value + bindparam("p_value")})
    for name, dialect in (("postgresql", postgresql), ("sqlite", sqlite))
}
_BY_KIND = (select(Asset.kind, func.count(), func.coalesce(func.sum(Asset.size_bytes), 0))
            .where(Asset.project_id == bindparam("p_project")).group_by(Asset.kind).order_by(Asset.kind))
_COUNTERS = (select(_u.metric, _u.period, _u.value)
             .where(_u.project_id == bindparam("p_project"), _u.metric.in_(METRICS),
                    _u.period >= bindparam("p_from"), _u.period <= bindparam("p_to")))
_PROJECT = select(ProjectRow.id).where(ProjectRow.id == bindparam("p_project"))

Key = tuple[str, str, str]  # (project, metric, day)


def day_of(now: float) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(now))


class UsageMeter:
    """Traffic counters of one process: :meth:`add` is a dictionary update under a lock;
    a background thread started by the first :meth:`add` writes what was added every
    :data:`FLUSH_SECONDS` in one transaction (an upsert per counter, adding to the day's
    row, so any number of processes add up), and :meth:`close` writes the rest.

    A crash (or a kill) loses what the process counted since its last write: at most a
    few seconds of traffic. That is acceptable because these counters report and
    estimate, they never refuse anything: the limits that must hold across processes
    (uploads and renders per minute) are counted in the catalog before the work, and
    stored bytes come from the assets themselves. Writing every image answer would put a
    database round trip on the path that must stay the cheapest.
    """

    def __init__(self, sessions: sessionmaker[Session], *, interval: float = FLUSH_SECONDS,
                 clock: Callable[[], float] = time.time) -> None:
        self.sessions, self.interval = sessions, interval
        self.clock = clock  # wall clock: which day a count belongs to
        self._pending: dict[Key, int] = {}
        self._lock = threading.Lock()
        self._day, self._day_ends = "", 0.0
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        ref = weakref.ref(self)
        os.register_at_fork(after_in_child=lambda: (m := ref()) is not None and m._forked())

    def add(self, project: str, metric: str, amount: int = 1) -> None:
        """Count ``amount`` of ``metric`` for ``project`` today (UTC); never blocks on I/O."""
        now = self.clock()
        with self._lock:
            if now >= self._day_ends or now < self._day_ends - 86_400:
                self._day, self._day_ends = day_of(now), (now // 86_400 + 1) * 86_400
            key = (project, metric, self._day)
            self._pending[key] = self._pending.get(key, 0) + amount
            if self._thread is None:
                self._start()

    def pending(self) -> dict[Key, int]:
        """What this process counted and has not written yet."""
        with self._lock:
            return dict(self._pending)

    def flush(self) -> int:
        """Write what was counted; how many counters were written. On a catalog error the
        counts are kept for the next try (up to :data:`MAX_PENDING` counters); a
        counter whose project was deleted meanwhile is dropped."""
        with self._lock:
            batch, self._pending = self._pending, {}
        if not batch:
            return 0
        rows = [{"p_project": p, "p_metric": m, "p_day": d, "p_value": v}
                for (p, m, d), v in sorted(batch.items())]  # one lock order for every process
        try:
            self._write(rows)
        except IntegrityError:  # a project deleted meanwhile: write the others one by one
            written = 0
            for row in rows:
                try:
                    self._write([row])
                    written += 1
                except IntegrityError:
                    log.info("usage of deleted project %r dropped", row["p_project"])
            return written
        except Exception:
            log.warning("could not write %d usage counters; retrying later", len(rows), exc_info=True)
            with self._lock:
                for key, value in batch.items():
                    if len(self._pending) < MAX_PENDING or key in self._pending:
                        self._pending[key] = self._pending.get(key, 0) + value
            return 0
        return len(rows)

    def close(self) -> None:
        """Stop the background thread and write what is left."""
        self._stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=self.interval + 5)
        self.flush()

    def _write(self, rows: list[dict[str, Any]]) -> None:
        with transaction(self.sessions) as s:
            s.execute(_ADD[s.get_bind().dialect.name], rows)

    def _start(self) -> None:
        if self._stop.is_set():  # closed: what is added now is written by flush() only
            return
        ref = weakref.ref(self)
        stop = self._stop
        interval = self.interval

        def run() -> None:
            while not stop.wait(interval):
                meter = ref()
                if meter is None:
                    return
                try:
                    meter.flush()
                except Exception:  # never let the thread die: the next round retries
                    log.exception("usage flush failed")
                del meter

        self._thread = threading.Thread(target=run, name="vitrina-usage", daemon=True)
        self._thread.start()

    def _forked(self) -> None:
        """In a forked child: a fresh lock and no thread (it stayed in the parent); the
        parent's pending counts are the parent's to write."""
        self._lock = threading.Lock()
        self._pending, self._thread = {}, None


@dataclass(frozen=True)
class KindUsage:
    kind: str
    assets: int
    bytes: int


@dataclass(frozen=True)
class QuotaUse:
    """One quota: its limit (0 = unlimited) and the current figure."""

    name: str
    limit: int
    current: int


@dataclass(frozen=True)
class UsageReport:
    project: str
    as_of: datetime
    kinds: tuple[KindUsage, ...]
    today: Mapping[str, int]  # METRICS counted today (UTC)
    month: Mapping[str, int]  # METRICS counted since the first of this month (UTC)
    month_start: str
    quotas: tuple[QuotaUse, ...]
    breakdown: Breakdown  # every file by kind and class, and the bytes saved
    price_per_gb_month: float = 0.0

    @property
    def assets(self) -> int:
        return sum(k.assets for k in self.kinds)

    @property
    def bytes(self) -> int:
        return sum(k.bytes for k in self.kinds)

    @property
    def storage_cost_per_month(self) -> float | None:
        """What holding the project's bytes costs per month; None without a price."""
        if not self.price_per_gb_month:
            return None
        return self.bytes / BYTES_PER_GB * self.price_per_gb_month

    def to_dict(self) -> dict[str, Any]:
        cost = self.storage_cost_per_month
        return {
            "project": self.project,
            "as_of": self.as_of.isoformat().replace("+00:00", "Z"),
            "storage": {
                "assets": self.assets, "bytes": self.bytes,
                "by_kind": [{"kind": k.kind, "assets": k.assets, "bytes": k.bytes} for k in self.kinds],
                "cost": None if cost is None else {
                    "price_per_gb_month": self.price_per_gb_month, "gb": self.bytes / BYTES_PER_GB,
                    "per_month": round(cost, 6)},
                "breakdown": self.breakdown.to_dict(self.price_per_gb_month, BYTES_PER_GB),
            },
            "traffic": {"today": dict(self.today), "month": dict(self.month), "month_start": self.month_start},
            "quotas": {q.name: {"limit": q.limit, "current": q.current} for q in self.quotas},
        }


class UsageService:
    """Usage reports of projects (the API's ``GET /v1/usage`` and ``vitrina usage``)."""

    def __init__(self, sessions: sessionmaker[Session], meter: UsageMeter, quotas: QuotaService,
                 settings: ProjectSettings, *, clock: Callable[[], float] = time.time) -> None:
        self.sessions, self.meter, self.quotas, self.settings = sessions, meter, quotas, settings
        self.clock = clock

    def report(self, project: str) -> UsageReport:
        """The project's usage now; NotFound for an unknown project. This process's
        counters are written first; other processes' are at most their flush interval old."""
        self.meter.flush()
        now = self.clock()
        today = day_of(now)
        month_start = today[:8] + "01"
        with self.sessions() as s:
            if s.scalar(_PROJECT, {"p_project": project}) is None:
                raise NotFound(f"no project {project[:64]!r}", details={"project": project[:64]})
            kinds = tuple(KindUsage(kind, int(n), int(b))
                          for kind, n, b in s.execute(_BY_KIND, {"p_project": project}))
            by_day = s.execute(_COUNTERS, {"p_project": project, "p_from": month_start, "p_to": today}).all()
            files = breakdown(s, project, [(k.kind, k.assets, k.bytes) for k in kinds])
        month = dict.fromkeys(METRICS, 0)
        day = dict.fromkeys(METRICS, 0)
        for metric, period, value in by_day:
            month[metric] += int(value)
            if period == today:
                day[metric] += int(value)
        limits = self.quotas.limits(project)
        rates = self.quotas.rates(project)
        held = {"max_assets": sum(k.assets for k in kinds), "max_bytes": sum(k.bytes for k in kinds)}
        quotas = tuple(QuotaUse(name, limit, held.get(name, rates.get(name, 0)))
                       for name, limit in limits.to_dict().items())
        return UsageReport(project, datetime.fromtimestamp(now, UTC), kinds, day, month, month_start, quotas, files,
                           self.settings.storage_price_per_gb_month)
