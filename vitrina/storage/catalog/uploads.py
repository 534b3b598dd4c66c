"""Catalog tables of resumable uploads (tus, decision 017): one row per upload and one
per acknowledged chunk, whose bytes are a blob under ``uploads/<id>/``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from vitrina.storage.catalog.models import Base, utcnow


class UploadRow(Base):
    """An upload in progress: its declared length and how many bytes are acknowledged."""

    __tablename__ = "uploads"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id", name="fk_uploads_project"), index=True)
    length: Mapped[int] = mapped_column(BigInteger)
    received: Mapped[int] = mapped_column(BigInteger, default=0)
    filename: Mapped[str | None] = mapped_column(String(255))
    meta: Mapped[dict[str, Any]] = mapped_column(default=dict)  # Upload-Metadata as sent (decoded)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(index=True)


class UploadChunkRow(Base):
    """Bytes ``[start, start + size)`` of an upload, stored under ``blob_key``. The primary
    key makes two writers racing for the same offset end with one chunk."""

    __tablename__ = "upload_chunks"
    upload_id: Mapped[str] = mapped_column(ForeignKey("uploads.id", ondelete="CASCADE"), primary_key=True)
    start: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)
    blob_key: Mapped[str] = mapped_column(String(255))
