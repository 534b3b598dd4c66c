"""Exposure and event logs: validate a batch whole, then write it in the caller's
transaction (all or nothing).

Both are written into one project: exposures name experiments of that project only
(another project's key is refused like a missing one), and events belong to it.

Exposures are kept as first exposures: (project, experiment, unit, variant) is the key
and a repeat keeps the earlier time, so a retried batch changes nothing. Events carry
an optional client ``id``, unique per project; a retried event with the same id is
stored once, and the same id in another project is another event.

An event may also name the item it is about, the session it belongs to and, for an
event of a served recommendation, the request, model, variant, position and
propensity it was served with (decision 029): the same log feeds experiment results
(which read only unit, event, value and time) and the interaction features.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Self

from sqlalchemy import select
from sqlalchemy.orm import Session

from vitrina.experiments import Experiment
from vitrina.experiments.errors import InvalidLogs
from vitrina.experiments_service.errors import BatchTooLarge
from vitrina.experiments_service.repository import check_project
from vitrina.problems import BatchProblems
from vitrina.storage.catalog.experiments import (
    EVENT_ID_LENGTH,
    ITEM_LENGTH,
    KEY_LENGTH,
    UNIT_LENGTH,
    EventRow,
    ExperimentRow,
    ExposureRow,
)

#: items per request or per transaction of the API
MAX_BATCH = 10_000
#: clock skew tolerated in client timestamps; later ones are refused (milliseconds
#: sent as seconds land ~50,000 years ahead)
MAX_FUTURE_SECONDS = 86_400.0
#: largest magnitude of an event value or a timestamp: sums of squares of a whole
#: experiment's values stay finite
MAX_MAGNITUDE = 1e15

_NAME = re.compile(r"^[A-Za-z0-9_.:-]{1,128}$")  # event names, as metrics accept them


@dataclass(frozen=True)
class Exposure:
    experiment: str
    unit_id: str
    variant: str
    timestamp: float


@dataclass(frozen=True)
class Event:
    unit_id: str
    event: str
    timestamp: float
    value: float = 1.0
    id: str | None = None
    item_id: str | None = None
    session_id: str | None = None
    request_id: str | None = None
    model: str | None = None
    variant: str | None = None
    position: int | None = None
    propensity: float | None = None


#: optional fields of an event beyond the experiment's (decision 029)
INTERACTION_FIELDS = ("item_id", "session_id", "request_id", "model", "variant", "position",
                      "propensity")
#: largest position in a served list
MAX_POSITION = 1_000_000


def _Problems(what: str, start: int) -> BatchProblems:
    return BatchProblems(InvalidLogs, what, "nothing was logged", start)


def _text(p: BatchProblems, i: int, item: dict, field: str, limit: int,
          pattern: re.Pattern[str] | None = None) -> str:
    value = item.get(field)
    if not isinstance(value, str) or not 0 < len(value) <= limit:
        p.add(i, field, f"must be a string of 1-{limit} characters")
        return ""
    if pattern is not None and not pattern.match(value):
        p.add(i, field, "must be letters, digits and '_.:-'")
    return value


def _number(p: BatchProblems, i: int, item: dict, field: str, default: float) -> float:
    value = item.get(field, default)
    try:  # an integer past any float overflows here
        number = float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) \
            else math.nan
    except OverflowError:
        number = math.nan
    if not abs(number) <= MAX_MAGNITUDE:
        p.add(i, field, f"must be a finite number of at most {MAX_MAGNITUDE:g} in magnitude")
        return default
    return number


def _time(p: BatchProblems, i: int, item: dict, now: float) -> float:
    t = _number(p, i, item, "timestamp", now)
    if not 0 <= t <= now + MAX_FUTURE_SECONDS:
        p.add(i, "timestamp", "must be epoch seconds (UTC), not in the future")
    return t


def _items(items: Any, what: str, fields: set[str], start: int) -> tuple[list, BatchProblems]:
    if not isinstance(items, Sequence) or isinstance(items, (str, bytes)):
        raise InvalidLogs(f"{what} must be a list of objects")
    if len(items) > MAX_BATCH:
        raise BatchTooLarge(f"{len(items)} {what} in one batch; send at most {MAX_BATCH}",
                            details={"max": MAX_BATCH})
    p = _Problems(what, start)
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            p.add(i, "", "must be an object")
        elif unknown := sorted(set(item) - fields):
            p.add(i, ",".join(unknown), f"unknown field(s); allowed: {sorted(fields)}")
    return [x if isinstance(x, dict) else {} for x in items], p


def parse_exposures(items: Any, now: float, start: int = 0) -> list[Exposure]:
    rows, p = _items(items, "exposures", {"experiment", "unit_id", "variant", "timestamp"}, start)
    out = [Exposure(_text(p, i, x, "experiment", 128), _text(p, i, x, "unit_id", UNIT_LENGTH),
                    _text(p, i, x, "variant", 128), _time(p, i, x, now))
           for i, x in enumerate(rows)]
    p.raise_any(len(rows))
    return out


def _optional_text(p: BatchProblems, i: int, item: dict, field: str, limit: int,
                   pattern: re.Pattern[str] | None = None) -> str | None:
    return _text(p, i, item, field, limit, pattern) if item.get(field) is not None else None


def _position(p: BatchProblems, i: int, item: dict) -> int | None:
    value = item.get("position")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_POSITION:
        p.add(i, "position", f"must be an integer from 0 to {MAX_POSITION}")
        return None
    return value


def _propensity(p: BatchProblems, i: int, item: dict) -> float | None:
    value = item.get("propensity")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= 1:
        p.add(i, "propensity", "must be a probability in (0, 1]")
        return None
    return float(value)


_EVENT_FIELDS = {"unit_id", "event", "value", "timestamp", "id", *INTERACTION_FIELDS}


def parse_events(items: Any, now: float, start: int = 0) -> list[Event]:
    rows, p = _items(items, "events", _EVENT_FIELDS, start)
    out = []
    for i, x in enumerate(rows):
        event_id = _optional_text(p, i, x, "id", EVENT_ID_LENGTH)
        out.append(Event(_text(p, i, x, "unit_id", UNIT_LENGTH),
                         _text(p, i, x, "event", 128, _NAME), _time(p, i, x, now),
                         _number(p, i, x, "value", 1.0), event_id,
                         _optional_text(p, i, x, "item_id", ITEM_LENGTH),
                         _optional_text(p, i, x, "session_id", UNIT_LENGTH),
                         _optional_text(p, i, x, "request_id", EVENT_ID_LENGTH),
                         _optional_text(p, i, x, "model", KEY_LENGTH, _NAME),
                         _optional_text(p, i, x, "variant", KEY_LENGTH, _NAME),
                         _position(p, i, x), _propensity(p, i, x)))
    p.raise_any(len(rows))
    return out


def _insert(session: Session):
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert


def write_exposures(session: Session, project: str, exposures: list[Exposure],
                    start: int = 0) -> int:
    """Check the project's experiments and variants exist, then upsert (earliest time
    wins)."""
    keys = sorted({x.experiment for x in exposures})
    rows = session.execute(select(ExperimentRow.key, ExperimentRow.definition)
                           .where(ExperimentRow.project_id == project,
                                  ExperimentRow.key.in_(keys))).all()
    variants = {k: set(Experiment.from_dict(d).variant_keys) for k, d in rows}
    p = _Problems("exposures", start)
    for i, x in enumerate(exposures):
        if x.experiment not in variants:
            p.add(i, "experiment", f"no experiment {x.experiment!r}")
        elif x.variant not in variants[x.experiment]:
            p.add(i, "variant", f"{x.variant!r} is not a variant of {x.experiment!r}: "
                                f"{sorted(variants[x.experiment])}")
    p.raise_any(len(exposures))
    first: dict[tuple[str, str, str], float] = {}
    for x in exposures:
        k = (x.experiment, x.unit_id, x.variant)
        first[k] = min(first.get(k, x.timestamp), x.timestamp)
    if first:
        stmt = _insert(session)(ExposureRow)
        stmt = stmt.on_conflict_do_update(
            index_elements=["project_id", "experiment", "unit_id", "variant"],
            set_={"timestamp": stmt.excluded.timestamp},
            where=stmt.excluded.timestamp < ExposureRow.timestamp)
        session.execute(stmt, [{"project_id": project, "experiment": e, "unit_id": u,
                                "variant": v, "timestamp": t}
                               for (e, u, v), t in first.items()])
    return len(exposures)


class Logged(int):
    """How many items a batch stored (it is that number), and in ``duplicates`` how
    many it skipped because their event id was already stored in the project (a
    retry, or the same id sent for another unit: the first one stored stays)."""

    duplicates: int

    def __new__(cls, accepted: int, duplicates: int = 0) -> Self:
        logged = super().__new__(cls, accepted)
        logged.duplicates = duplicates
        return logged

    @property
    def accepted(self) -> int:
        return int(self)


def write_events(session: Session, project: str, events: list[Event]) -> Logged:
    """Insert the project's events; an id already stored in the project (or earlier in
    the batch) is skipped and counted as a duplicate."""
    if not events:
        return Logged(0)
    check_project(session, project)
    stmt = _insert(session)(EventRow).on_conflict_do_nothing(
        index_elements=["project_id", "event_id"]).returning(EventRow.seq)
    stored = session.execute(stmt, [{"project_id": project, "event_id": e.id,
                                     "unit_id": e.unit_id, "event": e.event, "value": e.value,
                                     "timestamp": e.timestamp,
                                     **{f: getattr(e, f) for f in INTERACTION_FIELDS}}
                                    for e in events]).all()
    return Logged(len(stored), len(events) - len(stored))
