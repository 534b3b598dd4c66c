"""How served recommendations do, per model and variant, over a time window
(decision 033): impressions, CTR, conversion, catalogue coverage and the drift (PSI) of
three features against a reference window. Everything is a SQL aggregate in the
catalog; only per-bin counts come back to Python.

Attribution: a click counts for an impression with the same ``request_id`` and
``item_id``, a purchase for every impression of its ``request_id``; the impression
names the model and variant.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Float, String, and_, case, cast, func, literal, null, or_, select, union_all
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import FunctionElement

from vitrina.errors import InvalidInput
from vitrina.recs.data import EVENT_WEIGHTS
from vitrina.storage.catalog.experiments import EventRow
from vitrina.storage.catalog.items import ItemRow
from vitrina.storage.catalog.projects import ProjectRow

log = logging.getLogger(__name__)

#: the default window: the last 24 hours
WINDOW_SECONDS = 86_400.0
#: two-sided 95 % normal quantile (Wilson intervals)
Z95 = 1.959963984540054
#: a bin's share below this is read as this, so an empty bin gives a finite PSI
PSI_EPSILON = 1e-4
#: PSI below STABLE is stable, up to SIGNIFICANT moderate, above it significant
STABLE, SIGNIFICANT = 0.1, 0.25
#: events that show interest (impressions do not): popularity and user activity count these
INTEREST = tuple(e for e, w in EVENT_WEIGHTS.items() if w > 0)

POPULARITY_BINS = ("cold", *(str(d) for d in range(1, 11)))
ACTIVITY_BINS = ("0", "1", "2-3", "4-7", "8-15", "16+")
AGE_BINS = ("<1h", "1h-1d", "1d-7d", "7d-30d", "30d+", "unknown")
FEATURES: dict[str, tuple[str, ...]] = {
    "popularity": POPULARITY_BINS, "user_activity": ACTIVITY_BINS, "item_age": AGE_BINS}


# -- statistics -------------------------------------------------------------------------

def wilson(successes: int, trials: int, z: float = Z95) -> tuple[float, float] | None:
    """The Wilson score interval of a proportion; None without trials."""
    if trials <= 0:
        return None
    if not 0 <= successes <= trials:
        raise ValueError(f"{successes} successes out of {trials} trials")
    p, z2 = successes / trials, z * z
    centre = (p + z2 / (2 * trials)) / (1 + z2 / trials)
    half = z * math.sqrt(p * (1 - p) / trials + z2 / (4 * trials * trials)) / (1 + z2 / trials)
    return max(0.0, centre - half), min(1.0, centre + half)


def psi(current: Mapping[str, int], reference: Mapping[str, int], bins: Iterable[str]) -> float | None:
    """Population stability index, sum of (a - e) ln(a / e) over ``bins`` of the two
    shares, each at least PSI_EPSILON; None when either side is empty."""
    bins = list(bins)
    a_total = sum(current.get(b, 0) for b in bins)
    e_total = sum(reference.get(b, 0) for b in bins)
    if a_total == 0 or e_total == 0:
        return None
    out = 0.0
    for b in bins:
        a = max(current.get(b, 0) / a_total, PSI_EPSILON)
        e = max(reference.get(b, 0) / e_total, PSI_EPSILON)
        out += (a - e) * math.log(a / e)
    return out


def reading(value: float | None) -> str | None:
    if value is None:
        return None
    return "stable" if value < STABLE else "moderate" if value <= SIGNIFICANT else "significant"


def histogram_quantile(q: float, buckets: Mapping[float, float]) -> float:
    """Prometheus' ``histogram_quantile``: ``buckets`` maps each upper bound (with
    +Inf) to its cumulative count; linear interpolation inside the bucket the rank
    falls in, the highest finite bound when it falls in +Inf, NaN without
    observations."""
    if not 0 <= q <= 1:
        return -math.inf if q < 0 else math.inf
    bounds = sorted(buckets)
    if len(bounds) < 2 or not math.isinf(bounds[-1]):
        return math.nan
    counts, top = [], 0.0
    for b in bounds:  # cumulative counts never go down (as Prometheus ensures)
        top = max(top, buckets[b])
        counts.append(top)
    total = counts[-1]
    if total == 0:
        return math.nan
    rank = q * total
    i = next(n for n, c in enumerate(counts) if c >= rank)
    if i == len(bounds) - 1:
        return bounds[-2]
    if i == 0 and bounds[0] <= 0:
        return bounds[0]
    start = 0.0 if i == 0 else bounds[i - 1]
    below = 0.0 if i == 0 else counts[i - 1]
    return start + (bounds[i] - start) * (rank - below) / (counts[i] - below)


#: the serving latency histogram (vitrina/api/metrics.py), by surface, model and variant
LATENCY = "vitrina_recs_request_seconds"


def latency_quantiles(text: str, qs: Iterable[float] = (0.5, 0.99)) -> dict[tuple[str, str], dict[str, float]]:
    """From a /metrics text, per (model, variant) summed over surfaces: the quantiles
    ``qs`` (keyed "p50", "p99" ...) of the serving latency and the answer count."""
    from prometheus_client.parser import text_string_to_metric_families

    buckets: dict[tuple[str, str], dict[float, float]] = {}
    for family in text_string_to_metric_families(text):
        if family.name != LATENCY:
            continue
        for sample in family.samples:
            if sample.name == LATENCY + "_bucket":
                key = (sample.labels.get("model", ""), sample.labels.get("variant", ""))
                le = float(sample.labels["le"])
                into = buckets.setdefault(key, {})
                into[le] = into.get(le, 0.0) + sample.value
    out = {}
    for key, b in sorted(buckets.items()):
        out[key] = {f"p{q * 100:g}": histogram_quantile(q, b) for q in qs}
        out[key]["count"] = b.get(math.inf, 0.0)
    return out


# -- the report ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Window:
    since: float
    until: float

    def __post_init__(self) -> None:
        if not (math.isfinite(self.since) and math.isfinite(self.until)) or self.since >= self.until:
            raise InvalidInput("a window is two finite epoch times, since before until",
                               details={"since": self.since, "until": self.until})

    @classmethod
    def last(cls, seconds: float = WINDOW_SECONDS, until: float | None = None) -> Window:
        end = time.time() if until is None else until
        return cls(end - seconds, end)

    def before(self) -> Window:
        """The window of the same length just before this one."""
        return Window(2 * self.since - self.until, self.since)


@dataclass
class Drift:
    psi: float | None
    reading: str | None
    current: dict[str, int]
    reference: dict[str, int]


@dataclass
class VariantStats:
    model: str
    variant: str | None
    impressions: int
    requests: int
    clicks: int
    ctr: float
    ctr_interval: tuple[float, float]
    converted_requests: int
    conversion: float | None  # None when no impression carried a request id
    conversion_interval: tuple[float, float] | None
    impressed_items: int
    active_impressed_items: int
    coverage: float | None
    drift: dict[str, Drift] = field(default_factory=dict)


@dataclass
class Report:
    project: str
    window: Window
    reference: Window
    active_items: int
    variants: list[VariantStats]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def monitor(sessions: Any, project: str, window: Window | None = None,
            reference: Window | None = None) -> Report:
    """The project's figures over ``window`` (default: the last 24 h), drift measured
    against ``reference`` (default: the window of the same length just before)."""
    window = window or Window.last()
    reference = reference or window.before()
    with sessions() as s:
        active = s.execute(select(func.count()).select_from(ItemRow).where(
            ItemRow.project_id == project, _active_at(window.until))).scalar_one()
        shown = s.execute(_impressions(project, window)).all()
        requests = {(m, v): (int(n), int(b)) for m, v, n, b in s.execute(_requests(project, window))}
        drift = {
            "popularity": (_popularity(project, window, reference), _popularity(project, reference, reference)),
            "user_activity": (_activity(project, window), _activity(project, reference)),
            "item_age": (_age(project, window), _age(project, reference)),
        }
        bins = {name: (_bins(s, cur), _bins(s, ref)) for name, (cur, ref) in drift.items()}
    variants = []
    for model, variant, n, clicks, items, active_items in shown:
        n, clicks = int(n), int(clicks)  # PostgreSQL sums to numeric
        lists, converted = requests.get((model, variant), (0, 0))
        stats = VariantStats(
            model, variant, n, lists, clicks, clicks / n, wilson(clicks, n),
            converted, converted / lists if lists else None, wilson(converted, lists),
            items, active_items, active_items / active if active else None)
        for name, (cur, ref) in bins.items():
            c, r = cur.get((model, variant), {}), ref.get((model, variant), {})
            value = psi(c, r, FEATURES[name])
            stats.drift[name] = Drift(value, reading(value), c, r)
        variants.append(stats)
    variants.sort(key=lambda v: (v.model, v.variant or ""))
    return Report(project, window, reference, active, variants)


# -- the statements -----------------------------------------------------------------------

class _epoch(FunctionElement):
    """A timestamp column as epoch seconds (the catalog keeps UTC)."""

    type = Float()
    inherit_cache = True


@compiles(_epoch, "sqlite")
def _epoch_sqlite(element: Any, compiler: Any, **kw: Any) -> str:
    return f"((julianday({compiler.process(element.clauses, **kw)}) - 2440587.5) * 86400.0)"


@compiles(_epoch)
def _epoch_standard(element: Any, compiler: Any, **kw: Any) -> str:
    return f"EXTRACT(EPOCH FROM {compiler.process(element.clauses, **kw)})"


def _active_at(at: float) -> Any:
    moment = datetime.fromtimestamp(at, UTC)
    return and_(or_(ItemRow.active_from.is_(None), ItemRow.active_from <= moment),
                or_(ItemRow.active_until.is_(None), ItemRow.active_until > moment))


def _events(project: str, window: Window, *where: Any) -> Any:
    return select(EventRow).where(EventRow.project_id == project, EventRow.timestamp >= window.since,
                                  EventRow.timestamp < window.until, *where)


def _is(event: str) -> Any:
    return EventRow.event == event


def _shown() -> Any:
    """Impressions of served lists: those that name their model."""
    return and_(_is("impression"), EventRow.model.is_not(None))


def _of_impression(column: Any) -> Any:
    return func.max(case((_is("impression"), column)))


def _flag(condition: Any) -> Any:
    return func.max(case((condition, 1), else_=0))


# Each statement aggregates one pass over the window's events (sorting, which both
# databases do well) rather than joining derived tables, which SQLite joins without
# an index: 100,000 impressions against 10,000 clicks took minutes that way.

def _impressions(project: str, window: Window) -> Any:
    """Per (model, variant): impressions, clicked impressions, distinct items and
    distinct items active at the window's end. A click marks every impression of its
    (request, item); an impression without a request is a group of its own."""
    pairs = (_events(project, window, or_(_shown(), and_(_is("click"), EventRow.request_id.is_not(None))))
             .with_only_columns(EventRow.item_id, _of_impression(EventRow.model).label("model"),
                                _of_impression(EventRow.variant).label("variant"),
                                func.count(case((_is("impression"), 1))).label("shown"),
                                _flag(_is("click")).label("clicked"))
             .group_by(EventRow.request_id, EventRow.item_id,
                       case((EventRow.request_id.is_(None), EventRow.seq)))
             .subquery("pairs"))
    active = and_(ItemRow.project_id == project, ItemRow.item_id == pairs.c.item_id,
                  _active_at(window.until))
    return (select(pairs.c.model, pairs.c.variant, func.sum(pairs.c.shown),
                   func.sum(pairs.c.shown * pairs.c.clicked), func.count(pairs.c.item_id.distinct()),
                   func.count(ItemRow.item_id.distinct()))
            .select_from(pairs.outerjoin(ItemRow, active))  # a primary-key lookup per pair
            .where(pairs.c.shown > 0).group_by(pairs.c.model, pairs.c.variant))


def _requests(project: str, window: Window) -> Any:
    """Per (model, variant): requests with an impression, and those with a purchase."""
    requests = (_events(project, window, EventRow.request_id.is_not(None), or_(_shown(), _is("purchase")))
                .with_only_columns(_of_impression(EventRow.model).label("model"),
                                   _of_impression(EventRow.variant).label("variant"),
                                   _flag(_is("impression")).label("shown"),
                                   _flag(_is("purchase")).label("bought"))
                .group_by(EventRow.request_id).subquery("requests"))
    return (select(requests.c.model, requests.c.variant, func.count(), func.sum(requests.c.bought))
            .where(requests.c.shown == 1).group_by(requests.c.model, requests.c.variant))


def _binned(inner: Any) -> Any:
    """Per (model, variant, bin), the sum of ``weight`` over a subquery with those
    columns; grouped outside the CASE so PostgreSQL sees one expression."""
    sub = inner.subquery("binned")
    return (select(sub.c.model, sub.c.variant, sub.c.bin, func.sum(sub.c.weight))
            .group_by(sub.c.model, sub.c.variant, sub.c.bin))


def _popularity(project: str, window: Window, basis: Window) -> Any:
    """Impressions by their item's popularity decile in ``basis``: the N items with
    interest events there ranked by their count (ties by id) from 1, the least
    popular, to N; rank k is decile ceil(10 k / N). 0 (cold) for the other items."""
    basis_rows = (_events(project, basis, EventRow.event.in_(INTEREST), EventRow.item_id.is_not(None))
                  .with_only_columns(EventRow.item_id, cast(null(), String).label("model"),
                                     cast(null(), String).label("variant"), literal(1).label("ref"),
                                     func.count().label("w"))
                  .group_by(EventRow.item_id))
    shown = (_events(project, window, _shown())
             .with_only_columns(EventRow.item_id, EventRow.model, EventRow.variant, literal(0), func.count())
             .group_by(EventRow.item_id, EventRow.model, EventRow.variant))
    rows = union_all(basis_rows, shown).subquery("rows")  # one row per item and side
    n = func.sum(rows.c.ref * rows.c.w).over(partition_by=rows.c.item_id)
    counted = select(rows.c.item_id, rows.c.model, rows.c.variant, rows.c.ref, rows.c.w,
                     n.label("n")).subquery("counted")
    rank = func.dense_rank().over(order_by=(case((counted.c.n > 0, 0), else_=1), counted.c.n,
                                            counted.c.item_id))
    ranked = select(counted.c.model, counted.c.variant, counted.c.ref, counted.c.w,
                    case((counted.c.n > 0, rank)).label("k")).subquery("ranked")
    total = func.max(ranked.c.k).over()
    decile = select(ranked.c.model, ranked.c.variant, ranked.c.ref, ranked.c.w, ranked.c.k,
                    total.label("total")).subquery("decile")
    bin_ = case((decile.c.k.is_(None), 0),
                else_=(10 * decile.c.k + decile.c.total - 1) // decile.c.total)  # ceil(10 k / N)
    return _binned(select(decile.c.model, decile.c.variant, bin_.label("bin"),
                          decile.c.w.label("weight")).where(decile.c.ref == 0))


def _activity(project: str, window: Window) -> Any:
    """Users shown each model's lists, by their interest events in the window."""
    model = case((_is("impression"), EventRow.model))
    variant = case((_is("impression"), EventRow.variant))
    rows = (_events(project, window, or_(_shown(), EventRow.event.in_(INTEREST)))
            .with_only_columns(EventRow.unit_id, model.label("model"), variant.label("variant"),
                               func.count(case((EventRow.event.in_(INTEREST), 1))).label("interest"))
            .group_by(EventRow.unit_id, model, variant)  # a user's interest lands in (None, None)
            .subquery("rows"))
    n = func.sum(rows.c.interest).over(partition_by=rows.c.unit_id)
    users = (select(rows.c.model, rows.c.variant, n.label("n"))
             .select_from(rows).subquery("users"))
    n = users.c.n
    bin_ = case((n == 0, "0"), (n == 1, "1"), (n < 4, "2-3"), (n < 8, "4-7"), (n < 16, "8-15"),
                else_="16+")
    return _binned(select(users.c.model, users.c.variant, bin_.label("bin"), literal(1).label("weight"))
                   .where(users.c.model.is_not(None)))


def _age(project: str, window: Window) -> Any:
    """Impressions by their item's age then: since active_from, else since it entered
    the catalogue; 'unknown' for items not in it."""
    age = EventRow.timestamp - _epoch(func.coalesce(ItemRow.active_from, ItemRow.created_at))
    bin_ = case((ItemRow.item_id.is_(None), "unknown"), (age < 3600, "<1h"), (age < 86_400, "1h-1d"),
                (age < 7 * 86_400, "1d-7d"), (age < 30 * 86_400, "7d-30d"), else_="30d+")
    item = and_(ItemRow.project_id == project, ItemRow.item_id == EventRow.item_id)
    return _binned(_events(project, window, _shown())
                   .with_only_columns(EventRow.model, EventRow.variant, bin_.label("bin"),
                                      literal(1).label("weight"))
                   .select_from(EventRow.__table__.outerjoin(ItemRow, item)))


def _bins(session: Any, query: Any) -> dict[tuple[str, str | None], dict[str, int]]:
    out: dict[tuple[str, str | None], dict[str, int]] = {}
    for model, variant, bin_, n in session.execute(query):
        if isinstance(bin_, int):  # a decile, 0 for cold
            bin_ = str(bin_) if bin_ else "cold"
        out.setdefault((model, variant), {})[bin_] = int(n)  # PostgreSQL sums to numeric
    return out


# -- /metrics -----------------------------------------------------------------------------

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

    def __init__(self, sessions: Any, ttl: float = 30.0,
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
