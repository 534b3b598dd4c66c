"""How served recommendations do, per model and variant, over a time window
(decision 033): impressions, CTR, conversion, catalogue coverage and the drift (PSI) of
three features against a reference window. The figures are SQL aggregates in the
catalog (``queries``); the statistics over them are in ``stats``.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import func, select

from vitrina.errors import InvalidInput
from vitrina.experiments.stats.proportions import wilson
from vitrina.recs.monitoring import queries as q
from vitrina.recs.monitoring.stats import psi, reading
from vitrina.storage.catalog.items import ItemRow

#: the default window: the last 24 hours
WINDOW_SECONDS = 86_400.0

POPULARITY_BINS = ("cold", *(str(d) for d in range(1, 11)))
ACTIVITY_BINS = ("0", "1", "2-3", "4-7", "8-15", "16+")
AGE_BINS = ("<1h", "1h-1d", "1d-7d", "7d-30d", "30d+", "unknown")
FEATURES: dict[str, tuple[str, ...]] = {
    "popularity": POPULARITY_BINS, "user_activity": ACTIVITY_BINS, "item_age": AGE_BINS}



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
            ItemRow.project_id == project, q.active_at(window.until))).scalar_one()
        shown = s.execute(q.impressions(project, window)).all()
        if not shown:  # no served list: the other five statements would find nothing to report
            return Report(project, window, reference, active, [])
        requests = {(m, v): (int(n), int(b)) for m, v, n, b in s.execute(q.requests(project, window))}
        drift = {
            "user_activity": (q.activity(project, window), q.activity(project, reference)),
            "item_age": (q.age(project, window), q.age(project, reference)),
        }
        bins = {name: (q.bins(s, cur), q.bins(s, ref)) for name, (cur, ref) in drift.items()}
        popular = q.bins(s, q.popularity(project, reference, window, reference))
        bins["popularity"] = tuple({k[1:]: b for k, b in popular.items() if k[0] == side} for side in (0, 1))
    variants = []
    for model, variant, n, clicks, items, active_items in shown:
        n, clicks = int(n), int(clicks)  # PostgreSQL sums to numeric
        lists, converted = requests.get((model, variant), (0, 0))
        stats = VariantStats(
            model, variant, n, lists, clicks, clicks / n, wilson(clicks, n),
            converted, converted / lists if lists else None, wilson(converted, lists),
            items, active_items, active_items / active if active else None)
        for name, names in FEATURES.items():  # in the order a report names them
            cur, ref = bins[name]
            c, r = cur.get((model, variant), {}), ref.get((model, variant), {})
            value = psi(c, r, names)
            stats.drift[name] = Drift(value, reading(value), c, r)
        variants.append(stats)
    variants.sort(key=lambda v: (v.model, v.variant or ""))
    return Report(project, window, reference, active, variants)
