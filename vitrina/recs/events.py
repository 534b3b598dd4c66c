"""The interaction log: the experiments' events (decision 029), imported from files and
exported as Parquet in the interaction shape the feature jobs and models read.

There is one event path: an import validates each record as ``POST /v1/events`` does
(:func:`vitrina.experiments_service.logs.parse_events`) and writes valid ones with
:func:`~vitrina.experiments_service.logs.write_events`, a transaction per batch of up
to 10,000, idempotent by event id.

The export's columns: ``user_id`` (the event's unit), ``item_id``, ``event``,
``value``, ``ts`` (epoch seconds), ``session_id``, then the serving columns
``event_id``, ``request_id``, ``model``, ``variant``, ``position``, ``propensity``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from vitrina.experiments.errors import InvalidLogs
from vitrina.experiments_service.logs import MAX_BATCH, Event, parse_events, write_events
from vitrina.recs import files
from vitrina.storage.catalog.db import transaction
from vitrina.storage.catalog.experiments import EventRow

#: interaction-shape names accepted in files, for the API's
ALIASES = {"user_id": "unit_id", "ts": "timestamp", "event_id": "id"}
NUMBERS = frozenset({"value", "ts", "timestamp", "position", "propensity"})
EXPORT_COLUMNS = ("user_id", "item_id", "event", "value", "ts", "session_id", "event_id",
                  "request_id", "model", "variant", "position", "propensity")
_SOURCE = {"user_id": EventRow.unit_id, "item_id": EventRow.item_id, "event": EventRow.event,
           "value": EventRow.value, "ts": EventRow.timestamp, "session_id": EventRow.session_id,
           "event_id": EventRow.event_id, "request_id": EventRow.request_id,
           "model": EventRow.model, "variant": EventRow.variant, "position": EventRow.position,
           "propensity": EventRow.propensity}
EXPORT_CHUNK = 50_000


def export_schema():
    import pyarrow as pa

    text, number = pa.string(), pa.float64()
    types = {"value": number, "ts": number, "position": pa.int64(), "propensity": number}
    return pa.schema([pa.field(c, types.get(c, text), nullable=c not in
                               ("user_id", "event", "value", "ts")) for c in EXPORT_COLUMNS])


@dataclass
class ImportSummary:
    accepted: int = 0
    duplicates: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)


def as_event(data: dict[str, Any]) -> dict[str, Any]:
    """A file's record as the API's event: interaction names mapped, nulls left out."""
    return {ALIASES.get(k, k): v for k, v in data.items() if v is not None}


def import_events(sessions: sessionmaker[Session], project: str, path: Path,
                  progress: Callable[[int], None] = lambda n: None) -> ImportSummary:
    """Validate each record, write the valid ones in batches; rejects by line."""
    summary, pending = ImportSummary(), []
    now = time.time()

    def flush() -> None:
        if pending:
            with transaction(sessions) as s:
                logged = write_events(s, project, pending)
            summary.accepted += logged.accepted
            summary.duplicates += logged.duplicates
            progress(len(pending))
            pending.clear()

    for record in files.read(path, NUMBERS):
        if record.data is None:
            summary.rejected.append((record.line, record.error or "unreadable"))
            progress(1)
            continue
        try:
            event: Event = parse_events([as_event(record.data)], now)[0]
        except InvalidLogs as exc:
            problem = exc.details["problems"][0]
            summary.rejected.append((record.line, f"{problem['field']}: {problem['message']}"))
            progress(1)
            continue
        pending.append(event)
        if len(pending) >= MAX_BATCH:
            flush()
    flush()
    return summary


def export_events(sessions: sessionmaker[Session], project: str, out: Path,
                  since: float | None = None) -> int:
    """Write the project's events (oldest first) to a Parquet file; the row count."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema, written = export_schema(), 0
    query = select(*_SOURCE.values()).where(EventRow.project_id == project)
    if since is not None:
        query = query.where(EventRow.timestamp >= since)
    out.parent.mkdir(parents=True, exist_ok=True)
    with sessions() as s, pq.ParquetWriter(out, schema) as writer:
        result = s.execute(query.order_by(EventRow.seq).execution_options(yield_per=EXPORT_CHUNK))
        for rows in result.partitions():
            columns = list(zip(*rows, strict=True))
            writer.write_table(pa.table({c: pa.array(v, type=schema.field(c).type)
                                         for c, v in zip(EXPORT_COLUMNS, columns, strict=True)},
                                        schema=schema))
            written += len(rows)
        if not written:
            writer.write_table(schema.empty_table())
    return written
