"""Catalog tables: the one source of truth for assets, their files and their work.

The same models run on SQLite (embedded) and PostgreSQL (production); schema changes
go through Alembic migrations in ``vitrina/storage/migrations``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """A timestamp that reads back timezone-aware on every database: SQLite keeps no
    zone and returns naive values, which were written in UTC."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


class Base(DeclarativeBase):
    type_annotation_map: ClassVar = {datetime: UTCDateTime(), dict[str, Any]: JSON}


class Original(Base):
    """One row per distinct stored file (content-addressed by sha256)."""

    __tablename__ = "originals"
    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    mime: Mapped[str] = mapped_column(String(100))
    blob_key: Mapped[str] = mapped_column(String(1024))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: an upload about to reference these bytes: the collector leaves them alone until then
    pinned_until: Mapped[datetime | None] = mapped_column()


class Asset(Base):
    __tablename__ = "assets"
    __table_args__ = (
        UniqueConstraint("project_id", "sha256", name="uq_assets_project_sha256"),
        Index("ix_assets_project_newest", "project_id", "id"),
    )
    id: Mapped[str] = mapped_column(String(32), primary_key=True)  # time-sortable, see ids.py
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id", name="fk_assets_project"))
    sha256: Mapped[str] = mapped_column(ForeignKey("originals.sha256"))
    kind: Mapped[str] = mapped_column(String(16))  # image | video
    mime: Mapped[str] = mapped_column(String(100))
    filename: Mapped[str | None] = mapped_column(String(255))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    error: Mapped[str | None] = mapped_column(Text)
    meta: Mapped[dict[str, Any]] = mapped_column(default=dict)  # probe result
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    # user metadata (decision 022); the user's tags are rows of ``tags`` with source "user"
    title: Mapped[str | None] = mapped_column(String(300))
    alt_text: Mapped[str | None] = mapped_column(Text)
    fields: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # key -> str | number | bool
    #: bumped by every change to title, alt text, user tags or fields: what a text
    #: analyser records as its input's version
    metadata_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    metadata_updated_at: Mapped[datetime | None] = mapped_column()

    original: Mapped[Original] = relationship(lazy="joined")
    derivatives: Mapped[list[Derivative]] = relationship(
        cascade="all, delete-orphan", passive_deletes=True, order_by="(Derivative.width, Derivative.format)"
    )
    signals: Mapped[list[Signal]] = relationship(cascade="all, delete-orphan", passive_deletes=True)
    step_runs: Mapped[list[StepRun]] = relationship(cascade="all, delete-orphan", passive_deletes=True)
    tags: Mapped[list[Tag]] = relationship(cascade="all, delete-orphan", passive_deletes=True)


class Derivative(Base):
    __tablename__ = "derivatives"
    __table_args__ = (UniqueConstraint("asset_id", "width", "format", name="uq_derivative_size_format"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    asset_id: Mapped[str] = mapped_column(ForeignKey("assets.id", ondelete="CASCADE"))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    format: Mapped[str] = mapped_column(String(16))
    mime: Mapped[str] = mapped_column(String(100))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    blob_key: Mapped[str] = mapped_column(String(1024))
    producer: Mapped[str] = mapped_column(String(64))
    version: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class StepRun(Base):
    """One step of one asset's pipeline; also the job queue (workers claim rows)."""

    __tablename__ = "step_runs"
    __table_args__ = (
        UniqueConstraint("asset_id", "step", name="uq_step_run"),
        Index("ix_step_runs_claimable", "state", "next_attempt_at"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    asset_id: Mapped[str] = mapped_column(ForeignKey("assets.id", ondelete="CASCADE"), index=True)
    step: Mapped[str] = mapped_column(String(64))
    version: Mapped[str] = mapped_column(String(128))  # version that ran (or will run)
    state: Mapped[str] = mapped_column(String(16))  # waiting|pending|running|done|failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    worker_id: Mapped[str | None] = mapped_column(String(128))
    lease_until: Mapped[datetime | None] = mapped_column()
    heartbeat_at: Mapped[datetime | None] = mapped_column()
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    error_code: Mapped[str | None] = mapped_column(String(64))  # stable, e.g. step_timeout
    error: Mapped[str | None] = mapped_column(Text)  # public message: never a traceback
    started_at: Mapped[datetime | None] = mapped_column()
    finished_at: Mapped[datetime | None] = mapped_column()
    duration_ms: Mapped[float | None] = mapped_column(Float)
    #: the fraction of this attempt done (0 to 1) as the step last reported it, written at
    #: most once a second; None until a report (and again on a new attempt), 1 when done
    progress: Mapped[float | None] = mapped_column(Float)
    progress_at: Mapped[datetime | None] = mapped_column()  # when that report was written
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Signal(Base):
    """An analysis result for an asset, with the producer that made it."""

    __tablename__ = "signals"
    asset_id: Mapped[str] = mapped_column(ForeignKey("assets.id", ondelete="CASCADE"), primary_key=True)
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    producer: Mapped[str] = mapped_column(String(64))
    version: Mapped[str] = mapped_column(String(64))
    value: Mapped[dict[str, Any]] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Tag(Base):
    __tablename__ = "tags"
    __table_args__ = (Index("ix_tags_tag_source", "tag", "source"),)  # ``GET /v1/assets?tag=``
    asset_id: Mapped[str] = mapped_column(ForeignKey("assets.id", ondelete="CASCADE"), primary_key=True)
    tag: Mapped[str] = mapped_column(String(128), primary_key=True)
    source: Mapped[str] = mapped_column(String(64), primary_key=True)  # "user" or a producer name
    score: Mapped[float | None] = mapped_column(Float)
    version: Mapped[str | None] = mapped_column(String(64))


class Collection(Base):
    """A named, project-owned set of assets (decision 022)."""

    __tablename__ = "collections"
    __table_args__ = (UniqueConstraint("project_id", "name", name="uq_collections_project_name"),)
    id: Mapped[str] = mapped_column(String(32), primary_key=True)  # time-sortable, see ids.py
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id", name="fk_collections_project"))
    name: Mapped[str] = mapped_column(String(128))
    description: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class CollectionAsset(Base):
    """An asset in a collection; goes when either does (ON DELETE CASCADE)."""

    __tablename__ = "collection_assets"
    collection_id: Mapped[str] = mapped_column(
        ForeignKey("collections.id", ondelete="CASCADE", name="fk_collection_assets_collection"),
        primary_key=True)
    asset_id: Mapped[str] = mapped_column(
        ForeignKey("assets.id", ondelete="CASCADE", name="fk_collection_assets_asset"), primary_key=True,
        index=True)
    added_at: Mapped[datetime] = mapped_column(default=utcnow)


class IdempotencyKey(Base):
    __tablename__ = "idempotency_keys"
    project_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64))
    asset_id: Mapped[str] = mapped_column(ForeignKey("assets.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ApiKey(Base):
    __tablename__ = "api_keys"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id", name="fk_api_keys_project"))
    name: Mapped[str] = mapped_column(String(128))
    secret_sha256: Mapped[str] = mapped_column(String(64))
    scopes: Mapped[str] = mapped_column(String(128))  # comma list: read,write,admin
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column()


from vitrina.storage.catalog import batch as _batch  # noqa: F401  (Alembic sees its tables)
from vitrina.storage.catalog import creative as _creative  # noqa: F401
from vitrina.storage.catalog import experiments as _experiments  # noqa: F401
from vitrina.storage.catalog import items as _items  # noqa: F401
from vitrina.storage.catalog import projects as _projects  # noqa: F401
from vitrina.storage.catalog import uploads as _uploads  # noqa: F401
from vitrina.storage.catalog import webhooks as _webhooks  # noqa: F401
