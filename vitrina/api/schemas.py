"""Response shapes of the public API (documented in OpenAPI)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from vitrina.storage.catalog.models import Asset

#: metadata that must never leave through the API even to key holders
PRIVATE_META = {"gps"}


class DerivativeOut(BaseModel):
    width: int
    height: int
    format: str
    mime: str
    size_bytes: int
    url: str


class StepOut(BaseModel):
    step: str
    version: str
    state: str
    attempts: int
    error: str | None = None
    duration_ms: float | None = None


class AssetOut(BaseModel):
    id: str
    status: str = Field(description="pending | processing | ready | failed")
    kind: str
    mime: str
    filename: str | None
    size_bytes: int
    sha256: str
    width: int | None
    height: int | None
    error: str | None
    metadata: dict[str, Any]
    derivatives: list[DerivativeOut]
    signals: dict[str, dict[str, Any]] = Field(description="name -> {producer, version, ...value}")
    steps: list[StepOut]
    original_url: str
    created_at: datetime
    updated_at: datetime


class AssetList(BaseModel):
    items: list[AssetOut]
    next_cursor: str | None


def derivative_name(width: int, fmt: str) -> str:
    return f"{width}.{fmt}"


def asset_out(a: Asset, base_url: str) -> AssetOut:
    root = f"{base_url}/v1/assets/{a.id}"
    return AssetOut(
        id=a.id, status=a.status, kind=a.kind, mime=a.mime, filename=a.filename,
        size_bytes=a.size_bytes, sha256=a.sha256, width=a.width, height=a.height, error=a.error,
        metadata={k: v for k, v in (a.meta or {}).items() if k not in PRIVATE_META},
        derivatives=[
            DerivativeOut(width=d.width, height=d.height, format=d.format, mime=d.mime,
                          size_bytes=d.size_bytes, url=f"{root}/derivatives/{derivative_name(d.width, d.format)}")
            for d in a.derivatives
        ],
        signals={s.name: {"producer": s.producer, "version": s.version, **s.value} for s in a.signals},
        steps=[StepOut(step=r.step, version=r.version, state=r.state, attempts=r.attempts, error=r.error,
                       duration_ms=r.duration_ms) for r in sorted(a.step_runs, key=lambda r: r.id)],
        original_url=f"{root}/original",
        created_at=a.created_at, updated_at=a.updated_at,
    )
