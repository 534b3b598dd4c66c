"""Migration 0010 on both catalogs: events logged before it keep their rows (the new
columns null) and read the same; items arrive as a table; it downgrades cleanly."""

from __future__ import annotations

from alembic import command
from sqlalchemy import inspect, select, text

from vitrina.storage.catalog.db import _alembic_config, current_revision, upgrade
from vitrina.storage.catalog.experiments import EventRow

NEW = {"item_id", "session_id", "request_id", "model", "variant", "position", "propensity"}


def test_0010_adds_nullable_event_columns_and_the_items_table(runtime) -> None:
    command.downgrade(_alembic_config(runtime.engine), "0009")
    columns = {c["name"] for c in inspect(runtime.engine).get_columns("events")}
    assert not columns & NEW and "items" not in inspect(runtime.engine).get_table_names()
    with runtime.engine.begin() as conn:  # an event logged before 0010
        conn.execute(text("INSERT INTO events (project_id, event_id, unit_id, event, value, timestamp) "
                          "VALUES ('default', 'old-1', 'u1', 'buy', 5.0, 1700000000.0)"))

    upgrade(runtime.engine)
    assert current_revision(runtime.engine) >= "0010"
    inspector = inspect(runtime.engine)
    added = {c["name"]: c for c in inspector.get_columns("events") if c["name"] in NEW}
    assert set(added) == NEW and all(c["nullable"] for c in added.values())
    assert "items" in inspector.get_table_names()
    with runtime.sessions() as s:
        row = s.scalars(select(EventRow)).one()
    assert (row.event_id, row.unit_id, row.event, row.value, row.timestamp) == \
        ("old-1", "u1", "buy", 5.0, 1700000000.0)
    assert all(getattr(row, name) is None for name in NEW)

    command.downgrade(_alembic_config(runtime.engine), "0009")
    assert not {c["name"] for c in inspect(runtime.engine).get_columns("events")} & NEW
    upgrade(runtime.engine)
