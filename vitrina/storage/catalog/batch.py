"""Catalog table of batch backfills (decision 026): one row per backfill job, its
progress committed with each batch of results the driver writes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from vitrina.storage.catalog.models import Base, utcnow


class BackfillJobRow(Base):
    """A backfill of analyser results over the catalog (or one project).

    ``total`` is the assets the job has to visit, ``done`` those whose results are
    written (or were already current), ``failed`` those an analyser or the input
    refused in the latest run. ``resumed_at`` and ``done_at_resume`` are where the
    latest run began (rate and eta use them); ``owner`` is ``host:pid`` of the driver.
    """

    __tablename__ = "backfill_jobs"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    project_id: Mapped[str | None] = mapped_column(String(64), index=True)  # None: every project
    #: the analysers asked for (None: every analyser with stale results)
    analysers: Mapped[list[str] | None] = mapped_column(JSON)
    force: Mapped[bool] = mapped_column(Boolean, default=False)
    engine: Mapped[str] = mapped_column(String(32))
    options: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    state: Mapped[str] = mapped_column(String(16), index=True)  # running|done|failed|cancelled
    total: Mapped[int] = mapped_column(Integer, default=0)
    done: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[int] = mapped_column(Integer, default=0)
    written: Mapped[int] = mapped_column(Integer, default=0)
    done_at_resume: Mapped[int] = mapped_column(Integer, default=0)
    owner: Mapped[str | None] = mapped_column(String(128))
    error: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    resumed_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    heartbeat_at: Mapped[datetime | None] = mapped_column()
    finished_at: Mapped[datetime | None] = mapped_column()
