"""Catalog table of recommendable items (decision 029).

- ``items``: one row per (project, item id), the id being the team's own string.
  ``type``, ``attributes`` (JSON), ``text`` (title/body), linked ``asset_ids`` (JSON
  list) and an optional activity window. ``content_sha256`` hashes the canonical JSON
  of those fields: an upsert compares it and writes (and moves ``updated_at``) only on
  a real change.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from vitrina.storage.catalog.models import Base, utcnow

ITEM_ID_LENGTH = 256
ITEM_TYPE_LENGTH = 64


class ItemRow(Base):
    __tablename__ = "items"
    __table_args__ = (Index("ix_items_project_type", "project_id", "type", "item_id"),)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id", name="fk_items_project"),
                                            primary_key=True)
    item_id: Mapped[str] = mapped_column(String(ITEM_ID_LENGTH), primary_key=True)
    type: Mapped[str] = mapped_column(String(ITEM_TYPE_LENGTH))
    attributes: Mapped[dict[str, Any]] = mapped_column(JSON)
    title: Mapped[str | None] = mapped_column(Text)
    body: Mapped[str | None] = mapped_column(Text)
    asset_ids: Mapped[list[str]] = mapped_column(JSON)
    active_from: Mapped[datetime | None] = mapped_column()
    active_until: Mapped[datetime | None] = mapped_column()
    content_sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
