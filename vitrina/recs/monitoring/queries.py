"""The monitoring's SQL (decision 033): one statement per figure over a window's
events, each aggregated in the catalog so only per-bin counts come back to Python.

Attribution: a click counts for an impression with the same ``request_id`` and
``item_id``, a purchase for every impression of its ``request_id``; the impression
names the model and variant.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    Float,
    Integer,
    String,
    and_,
    case,
    cast,
    func,
    literal,
    null,
    or_,
    select,
    union_all,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import FunctionElement

from vitrina.recs.data import EVENT_WEIGHTS
from vitrina.storage.catalog.experiments import EventRow
from vitrina.storage.catalog.items import ItemRow

if TYPE_CHECKING:
    from vitrina.recs.monitoring.report import Window

#: events that show interest (impressions do not): popularity and user activity count these
INTEREST = tuple(e for e, w in EVENT_WEIGHTS.items() if w > 0)


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


def active_at(at: float) -> Any:
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

def impressions(project: str, window: Window) -> Any:
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
                  active_at(window.until))
    return (select(pairs.c.model, pairs.c.variant, func.sum(pairs.c.shown),
                   func.sum(pairs.c.shown * pairs.c.clicked), func.count(pairs.c.item_id.distinct()),
                   func.count(ItemRow.item_id.distinct()))
            .select_from(pairs.outerjoin(ItemRow, active))  # a primary-key lookup per pair
            .where(pairs.c.shown > 0).group_by(pairs.c.model, pairs.c.variant))


def requests(project: str, window: Window) -> Any:
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
    """The sum of ``weight`` over a subquery per its other columns (model, variant, bin
    ...); grouped outside the CASE so PostgreSQL sees one expression."""
    sub = inner.subquery("binned")
    keys = [c for c in sub.c if c.name != "weight"]
    return select(*keys, func.sum(sub.c.weight)).group_by(*keys)


def popularity(project: str, basis: Window, *windows: Window) -> Any:
    """Impressions in each of ``windows`` (side 0, 1 ...) by their item's popularity
    decile in ``basis``: the N items with interest events there ranked by their count
    (ties by id) from 1, the least popular, to N; rank k is decile ceil(10 k / N). 0
    (cold) for the other items. One statement, so ``basis`` is counted once."""
    basis_rows = (_events(project, basis, EventRow.event.in_(INTEREST), EventRow.item_id.is_not(None))
                  .with_only_columns(EventRow.item_id, cast(null(), Integer).label("side"),
                                     cast(null(), String).label("model"),
                                     cast(null(), String).label("variant"), literal(1).label("ref"),
                                     func.count().label("w"))
                  .group_by(EventRow.item_id))
    shown = [(_events(project, window, _shown())
              .with_only_columns(EventRow.item_id, literal(side), EventRow.model, EventRow.variant,
                                 literal(0), func.count())
              .group_by(EventRow.item_id, EventRow.model, EventRow.variant))
             for side, window in enumerate(windows)]
    rows = union_all(basis_rows, *shown).subquery("rows")  # one row per item and origin
    n = func.sum(rows.c.ref * rows.c.w).over(partition_by=rows.c.item_id)
    counted = select(rows.c.item_id, rows.c.side, rows.c.model, rows.c.variant, rows.c.ref, rows.c.w,
                     n.label("n")).subquery("counted")
    rank = func.dense_rank().over(order_by=(case((counted.c.n > 0, 0), else_=1), counted.c.n,
                                            counted.c.item_id))
    ranked = select(counted.c.side, counted.c.model, counted.c.variant, counted.c.ref, counted.c.w,
                    case((counted.c.n > 0, rank)).label("k")).subquery("ranked")
    total = func.max(ranked.c.k).over()
    decile = select(ranked.c.side, ranked.c.model, ranked.c.variant, ranked.c.ref, ranked.c.w,
                    ranked.c.k, total.label("total")).subquery("decile")
    bin_ = case((decile.c.k.is_(None), 0),
                else_=(10 * decile.c.k + decile.c.total - 1) // decile.c.total)  # ceil(10 k / N)
    return _binned(select(decile.c.side, decile.c.model, decile.c.variant, bin_.label("bin"),
                          decile.c.w.label("weight")).where(decile.c.ref == 0))


def activity(project: str, window: Window) -> Any:
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


def age(project: str, window: Window) -> Any:
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


def bins(session: Any, query: Any) -> dict[tuple, dict[str, int]]:
    """Per key ((model, variant), or (side, model, variant)), the count in each bin."""
    out: dict[tuple, dict[str, int]] = {}
    for *key, bin_, n in session.execute(query):
        if isinstance(bin_, int):  # a decile, 0 for cold
            bin_ = str(bin_) if bin_ else "cold"
        out.setdefault(tuple(key), {})[bin_] = int(n)  # PostgreSQL sums to numeric
    return out
