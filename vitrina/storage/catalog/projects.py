"""Catalog tables of projects: the namespace every owned record belongs to, their URL
signing keys and their usage counters."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from vitrina.storage.catalog.models import Base, utcnow

DEFAULT_PROJECT = "default"


class ProjectRow(Base):
    __tablename__ = "projects"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    quotas: Mapped[dict[str, Any]] = mapped_column(default=dict)  # overrides of the settings' defaults
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SigningKeyRow(Base):
    """A URL signing key of one project (key ids are unique across projects)."""

    __tablename__ = "signing_keys"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id"))
    secret: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column()


class UsageRow(Base):
    """A counter of one project: ``metric`` (renders, bytes_served, ...) over ``period``
    (a UTC day, ``YYYY-MM-DD``, or a minute for rate limits)."""

    __tablename__ = "usage"
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id"), primary_key=True)
    metric: Mapped[str] = mapped_column(String(64), primary_key=True)
    period: Mapped[str] = mapped_column(String(16), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger, default=0)
