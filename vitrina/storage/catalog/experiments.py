"""Catalog tables of experimentation: definitions, exposures and outcome events.

- ``experiments``: one row per experiment, its definition and analysis plan as the
  library's JSON (``Experiment.to_dict`` / ``AnalysisPlan.to_dict``), a status mirrored
  from the definition for listing, and a revision bumped by every change.
- ``exposures``: the first exposure of a unit to a variant. The analysis needs only a
  unit's earliest exposure and the set of variants it saw, so (experiment, unit,
  variant) is the key and a repeated exposure keeps the earlier time: the table grows
  with units, not with page views, and a retried batch changes nothing.
- ``events``: outcomes (clicks, purchases...) shared by every experiment; an optional
  client ``event_id`` makes retries of the same event idempotent. Since 0010 an event
  may also name an item, a session and the served recommendation it came from
  (request, model, variant, position, propensity): the interaction log of decision 029.

Times are float epoch seconds (UTC), as the summary query reads them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Float,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from vitrina.storage.catalog.models import Base, utcnow

KEY_LENGTH = 128
UNIT_LENGTH = 256
EVENT_ID_LENGTH = 64
ITEM_LENGTH = 256


class ExperimentRow(Base):
    __tablename__ = "experiments"
    project_id: Mapped[str] = mapped_column(
        ForeignKey("projects.id", name="fk_experiments_project"), primary_key=True)
    key: Mapped[str] = mapped_column(String(KEY_LENGTH), primary_key=True)
    definition: Mapped[dict[str, Any]] = mapped_column()
    plan: Mapped[dict[str, Any] | None] = mapped_column()
    status: Mapped[str] = mapped_column(String(16), index=True)  # draft | running | stopped
    killed: Mapped[bool] = mapped_column(default=False)
    revision: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class ExposureRow(Base):
    __tablename__ = "exposures"
    __table_args__ = (
        ForeignKeyConstraint(["project_id", "experiment"], ["experiments.project_id", "experiments.key"],
                             name="fk_exposures_experiment", ondelete="CASCADE"),
    )
    # the primary key's prefix serves "all exposures of an experiment"
    project_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    experiment: Mapped[str] = mapped_column(String(KEY_LENGTH), primary_key=True)
    unit_id: Mapped[str] = mapped_column(String(UNIT_LENGTH), primary_key=True)
    variant: Mapped[str] = mapped_column(String(KEY_LENGTH), primary_key=True)
    timestamp: Mapped[float] = mapped_column(Float)


class EventRow(Base):
    __tablename__ = "events"
    __table_args__ = (
        UniqueConstraint("project_id", "event_id", name="uq_events_project_event_id"),
        Index("ix_events_unit_event", "project_id", "unit_id", "event"),  # an experiment's units
        Index("ix_events_event_time", "project_id", "event", "timestamp"),  # one kind over time
        Index("ix_events_item", "project_id", "item_id"),  # an item's interactions (0010)
        Index("ix_events_unit_seq", "project_id", "unit_id", "seq"),  # a user's latest (0011)
    )
    seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"),
                                     primary_key=True, autoincrement=True)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id", name="fk_events_project"))
    event_id: Mapped[str | None] = mapped_column(String(EVENT_ID_LENGTH))
    unit_id: Mapped[str] = mapped_column(String(UNIT_LENGTH))
    event: Mapped[str] = mapped_column(String(KEY_LENGTH))
    value: Mapped[float] = mapped_column(Float, default=1.0)
    timestamp: Mapped[float] = mapped_column(Float)
    # interaction and serving fields (0010, decision 029); null on experiment-only events
    item_id: Mapped[str | None] = mapped_column(String(ITEM_LENGTH))
    session_id: Mapped[str | None] = mapped_column(String(UNIT_LENGTH))
    request_id: Mapped[str | None] = mapped_column(String(EVENT_ID_LENGTH))
    model: Mapped[str | None] = mapped_column(String(KEY_LENGTH))
    variant: Mapped[str | None] = mapped_column(String(KEY_LENGTH))
    position: Mapped[int | None] = mapped_column(Integer)
    propensity: Mapped[float | None] = mapped_column(Float)
