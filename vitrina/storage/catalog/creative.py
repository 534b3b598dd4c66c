"""Catalog tables of creative automation (decision 034).

- ``creative_documents``: brand kits, templates and campaigns, as validated JSON documents, one
  row per (project, kind, id, version). A document sent again unchanged keeps its
  version; a change adds the next one, so a creative can always name exactly what made
  it (``sha256`` is the canonical JSON's).
- ``creatives``: one rendered variant of an item for a placement: the documents'
  versions, the variant's text and choices, the gate results, the asset holding the
  picture (so every image URL and cache rule applies), and the audit record.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from vitrina.storage.catalog.models import Base, utcnow

DOCUMENT_ID_LENGTH = 128
DOCUMENT_KINDS = ("brand_kit", "template", "campaign")


class CreativeDocumentRow(Base):
    __tablename__ = "creative_documents"
    project_id: Mapped[str] = mapped_column(
        ForeignKey("projects.id", name="fk_creative_documents_project"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)  # brand_kit | template | campaign
    document_id: Mapped[str] = mapped_column(String(DOCUMENT_ID_LENGTH), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    document: Mapped[dict[str, Any]] = mapped_column(JSON)
    sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class CreativeRow(Base):
    __tablename__ = "creatives"
    __table_args__ = (
        Index("ix_creatives_campaign", "project_id", "campaign", "placement", "status"),
    )
    project_id: Mapped[str] = mapped_column(
        ForeignKey("projects.id", name="fk_creatives_project"), primary_key=True)
    #: a hash of every input: the same inputs are the same creative
    creative_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    campaign: Mapped[str] = mapped_column(String(DOCUMENT_ID_LENGTH))
    item_id: Mapped[str] = mapped_column(String(256))
    placement: Mapped[str] = mapped_column(String(64))
    brand_kit: Mapped[str] = mapped_column(String(DOCUMENT_ID_LENGTH))
    brand_kit_version: Mapped[int] = mapped_column(Integer)
    template: Mapped[str] = mapped_column(String(DOCUMENT_ID_LENGTH))
    template_version: Mapped[int] = mapped_column(Integer)
    #: the variant: headline, subline, cta, the source image, the layout
    variant: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16))  # ready | rejected
    gates: Mapped[dict[str, Any]] = mapped_column(JSON)
    asset_id: Mapped[str | None] = mapped_column(String(32))
    audit: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
