"""Project quotas: how much a project may hold (bytes, assets) and how fast it may
upload and cause renders.

A project's limits are the settings' ``projects`` section with its own
``ProjectRow.quotas`` overrides on top; 0 means unlimited. Where each is enforced:

- **stored bytes and asset count** at ingest: a declared upload size that cannot fit is
  refused at :meth:`QuotaService.check_declared` (before the body is read); then, once
  the bytes are known and are not a duplicate, :meth:`QuotaService.check_storage`
  refuses without a lock (so a refused upload usually writes nothing) and once more
  inside the transaction that inserts the asset, after locking the project's row
  (``FOR NO KEY UPDATE`` on PostgreSQL; SQLite's ``BEGIN IMMEDIATE`` serialises writers
  already). That last check is exact: concurrent uploads never pass the limit.
- **uploads and renders per minute**: a counter in ``usage`` (metric ``rate.uploads`` or
  ``rate.renders``, period ``YYYY-MM-DDTHH:MM`` in UTC) taken by one conditional upsert
  that adds one only while the count is below the limit, so any number of processes
  share one limit and a refusal changes nothing.

Each process keeps a project's limits for :data:`QUOTA_TTL_SECONDS`: with every quota at
0 (the default) an upload or a render runs no query of its own, and a changed quota
takes effect within that time.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import bindparam, delete, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

from vitrina.config import ProjectSettings
from vitrina.errors import (
    ConfigError,
    QuotaAssetsExceeded,
    QuotaBytesExceeded,
    QuotaExceeded,
    RenderRateExceeded,
    UploadRateExceeded,
)
from vitrina.storage.catalog.db import transaction
from vitrina.storage.catalog.models import Asset
from vitrina.storage.catalog.projects import ProjectRow, UsageRow

#: how long a process trusts what it read about a project's limits
QUOTA_TTL_SECONDS = 10.0
#: what a declared request size may hold besides the file (multipart delimiters, part
#: headers, other fields): the early refusal leaves room for it, so that a file that fits
#: is never refused for its envelope; the exact size is checked once it is known
ENVELOPE_BYTES = 128 * 1024
#: per-minute rate counters older than this are removed (by the processes that count)
RATE_KEEP_SECONDS = 3600
RATE_METRICS = {"uploads": "rate.uploads", "renders": "rate.renders"}
_MAX_CACHED = 10_000

USAGE = UsageRow.__table__
_u = USAGE.c
_HELD = (select(func.count(), func.coalesce(func.sum(Asset.size_bytes), 0))
         .where(Asset.project_id == bindparam("p_project")))
_OVERRIDES = select(ProjectRow.quotas).where(ProjectRow.id == bindparam("p_project"))
#: the project's row, locked against other uploads' checks (not against inserts that
#: only reference it: NO KEY UPDATE leaves their KEY SHARE locks alone)
_LOCK = _OVERRIDES.with_for_update(key_share=True)
#: one more in this minute's counter, only while it is below the limit (no row back: refused)
_TAKE = {
    name: dialect.insert(USAGE)
    .values(project_id=bindparam("p_project"), metric=bindparam("p_metric"),
            period=bindparam("p_period"), value=1)
    .on_conflict_do_update(index_elements=["project_id", "metric", "period"],
                           set_={"value": _u.value + 1}, where=_u.value < bindparam("p_limit"))
    .returning(_u.value)
    for name, dialect in (("postgresql", postgresql), ("sqlite", sqlite))
}
_COUNT = select(_u.value).where(_u.project_id == bindparam("p_project"), _u.metric == bindparam("p_metric"),
                                _u.period == bindparam("p_period"))
_PRUNE = delete(USAGE).where(_u.project_id == bindparam("p_project"), _u.metric == bindparam("p_metric"),
                             _u.period < bindparam("p_before"))


@dataclass(frozen=True)
class Quotas:
    """One project's limits; 0 = unlimited."""

    max_bytes: int = 0
    max_assets: int = 0
    uploads_per_minute: int = 0
    renders_per_minute: int = 0

    @property
    def limits_storage(self) -> bool:
        return bool(self.max_bytes or self.max_assets)

    def to_dict(self) -> dict[str, int]:
        return asdict(self)


QUOTA_NAMES = tuple(Quotas.__dataclass_fields__)


def quotas_of(defaults: ProjectSettings, overrides: Mapping[str, Any], project: str = "") -> Quotas:
    """The settings' defaults with a project's overrides; a stored override that is not
    a known quota or not a whole number >= 0 is a ConfigError naming it (the project
    service refuses such values; one can only come from editing the table by hand)."""
    values = {name: getattr(defaults, name) for name in QUOTA_NAMES}
    for name, value in (overrides or {}).items():
        if name not in values or isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ConfigError(f"project {project!r} has an invalid quota override {name!r}: {value!r}; "
                              f"set it again with a whole number >= 0 ({', '.join(QUOTA_NAMES)})",
                              details={"project": project, "quota": str(name)[:40]})
        values[name] = value
    return Quotas(**values)


def minute_of(now: float) -> str:
    """The UTC minute of ``now`` as rate counters name their period."""
    return time.strftime("%Y-%m-%dT%H:%M", time.gmtime(now))


class QuotaService:
    """Checks a project's quotas; see the module docstring for where each runs."""

    def __init__(self, sessions: sessionmaker[Session], settings: ProjectSettings, *,
                 clock: Callable[[], float] = time.time, ttl: float = QUOTA_TTL_SECONDS) -> None:
        self.sessions, self.settings, self.ttl = sessions, settings, ttl
        self.clock = clock  # wall clock (rate periods); tests may replace it
        self._limits: dict[str, tuple[float, Quotas]] = {}  # project -> (trusted until, limits)
        self._pruned: dict[tuple[str, str], str] = {}  # (project, metric) -> minute last pruned
        self._lock = threading.Lock()

    # --- limits ---------------------------------------------------------------------------
    def limits(self, project: str) -> Quotas:
        """The project's limits (read at most once per TTL; blocking on a miss)."""
        known = self.cached(project)
        if known is not None:
            return known
        with self.sessions() as s:
            overrides = s.scalar(_OVERRIDES, {"p_project": project})
        return self._remember(project, quotas_of(self.settings, overrides or {}, project))

    def cached(self, project: str) -> Quotas | None:
        """The project's limits if this process read them within the TTL; never blocks."""
        hit = self._limits.get(project)
        if hit is None or time.monotonic() >= hit[0]:
            return None
        return hit[1]

    def forget(self, project: str | None = None) -> None:
        """Read the project's (or every project's) limits again on next use."""
        with self._lock:
            if project is None:
                self._limits.clear()
            else:
                self._limits.pop(project, None)

    def _remember(self, project: str, quotas: Quotas) -> Quotas:
        with self._lock:
            if len(self._limits) >= _MAX_CACHED:
                self._limits.clear()
            self._limits[project] = (time.monotonic() + self.ttl, quotas)
        return quotas

    # --- what a project holds -------------------------------------------------------------
    def held(self, project: str, session: Session | None = None) -> tuple[int, int]:
        """(assets, bytes) the project holds now: each asset's size counts, also when
        another asset (of any project) shares its bytes."""
        if session is not None:
            count, used = session.execute(_HELD, {"p_project": project}).one()
            return int(count), int(used)
        with self.sessions() as s:
            return self.held(project, s)

    def check_declared(self, project: str, declared_size: int | None) -> None:
        """Before an upload's body is read: refuse a declared size that cannot fit in the
        project's ``max_bytes`` whatever its envelope (:data:`ENVELOPE_BYTES`)."""
        if declared_size is None or declared_size <= ENVELOPE_BYTES:
            return
        limits = self.limits(project)
        if not limits.max_bytes:
            return
        _, used = self.held(project)
        if used + declared_size - ENVELOPE_BYTES > limits.max_bytes:
            raise _over_bytes(project, limits.max_bytes, used, declared_size)

    def check_storage(self, project: str, size_bytes: int, session: Session | None = None) -> None:
        """Refuse a new asset of ``size_bytes`` that would bring the project over
        ``max_bytes`` or ``max_assets``; an upload reaching a limit exactly passes.

        With ``session`` (the transaction that will insert the asset) the project's row
        is locked first and the limits are read from it, so the answer holds until that
        transaction ends: concurrent uploads of one project take turns here. Without,
        it is an early check on the cached limits that a concurrent upload may outdate.
        """
        if session is None:
            limits = self.limits(project)
        else:
            overrides = session.scalar(_LOCK, {"p_project": project})
            limits = quotas_of(self.settings, overrides or {}, project)
        if not limits.limits_storage:
            return
        count, used = self.held(project, session)
        if limits.max_assets and count + 1 > limits.max_assets:
            raise QuotaAssetsExceeded(
                f"Project {project!r} holds {count:,} assets, its limit: delete assets it no "
                "longer needs, or ask an administrator to raise its max_assets quota.",
                details=_details(project, "max_assets", limits.max_assets, count))
        if limits.max_bytes and used + size_bytes > limits.max_bytes:
            raise _over_bytes(project, limits.max_bytes, used, size_bytes)

    # --- rates ----------------------------------------------------------------------------
    def take_upload(self, project: str) -> None:
        """Count an upload in this minute, or refuse it (429) when the project started
        ``uploads_per_minute`` already; nothing runs when that quota is 0."""
        limit = self.limits(project).uploads_per_minute
        if limit and not self._take(project, "uploads", limit):
            raise UploadRateExceeded(
                f"Project {project!r} started {limit:,} uploads this minute, its limit: retry "
                f"in {self._wait():.0f} s, spread uploads out, or ask an administrator to raise its "
                "uploads_per_minute quota.", details=self._rate_details(project, "uploads_per_minute", limit))

    def take_render(self, project: str) -> None:
        """Count an uncached render in this minute, or refuse it (429) when the project's
        assets caused ``renders_per_minute`` already; nothing runs when that quota is 0."""
        limit = self.limits(project).renders_per_minute
        if limit and not self._take(project, "renders", limit):
            raise RenderRateExceeded(
                f"Images of project {project!r} caused {limit:,} new renders this minute, its "
                f"limit: retry in {self._wait():.0f} s, reuse URLs that are cached already, or ask an "
                "administrator to raise its renders_per_minute quota.",
                details=self._rate_details(project, "renders_per_minute", limit))

    def rates(self, project: str) -> dict[str, int]:
        """This minute's counts by quota name (``uploads_per_minute``, ``renders_per_minute``)."""
        period = minute_of(self.clock())
        with self.sessions() as s:
            return {f"{what}_per_minute": int(s.scalar(_COUNT, {"p_project": project, "p_metric": metric,
                                                               "p_period": period}) or 0)
                    for what, metric in RATE_METRICS.items()}

    def _take(self, project: str, what: str, limit: int) -> bool:
        metric, now = RATE_METRICS[what], self.clock()
        period = minute_of(now)
        with transaction(self.sessions) as s:
            taken = s.execute(_TAKE[s.get_bind().dialect.name], {
                "p_project": project, "p_metric": metric, "p_period": period, "p_limit": limit}).first()
        if self._pruned.get((project, metric)) != period:  # once a minute per process
            self._pruned[(project, metric)] = period
            with transaction(self.sessions) as s:
                s.execute(_PRUNE, {"p_project": project, "p_metric": metric,
                                   "p_before": minute_of(now - RATE_KEEP_SECONDS)})
        return taken is not None

    def _wait(self) -> float:
        """Seconds until the next minute."""
        return 60 - self.clock() % 60

    def _rate_details(self, project: str, quota: str, limit: int) -> dict[str, Any]:
        return {**_details(project, quota, limit, limit), "retry_after_seconds": max(1, round(self._wait()))}


def _details(project: str, quota: str, limit: int, current: int) -> dict[str, Any]:
    return {"project": project, "quota": quota, "limit": limit, "current": current}


def _over_bytes(project: str, limit: int, used: int, size: int) -> QuotaExceeded:
    return QuotaBytesExceeded(
        f"This upload of {size:,} bytes would bring project {project!r} to {used + size:,} bytes, "
        f"over its quota of {limit:,} ({used:,} held): delete assets it no longer needs, or ask an "
        "administrator to raise its max_bytes quota.",
        details={**_details(project, "max_bytes", limit, used), "upload_bytes": size})
