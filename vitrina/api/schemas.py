"""Response shapes of the public API (documented in OpenAPI)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from vitrina.assets.records import AssetRecord
from vitrina.assets.states import AssetStatus
from vitrina.assets.views import asset_json


class DerivativeOut(BaseModel):
    width: int
    height: int
    format: str
    mime: str
    size_bytes: int
    path: str = Field(description="Its place among the asset's files, e.g. `w640.webp`, "
                                  "`h720w1280.mp4` or `hls/master.m3u8`: what a playback URL "
                                  "`/video/{token}/{asset_id}/{path}` names.")
    url: str


class StepOut(BaseModel):
    step: str
    version: str
    state: str
    attempts: int
    error_code: str | None = Field(None, description="stable: step_timeout, step_crashed, corrupt_media, ...")
    error: str | None = Field(None, description="public message; the server log has the details")
    duration_ms: float | None = None
    progress: float | None = Field(None, ge=0, le=1, description=(
        "fraction done: as a running step last reported it (null before its first report; "
        "written at most once a second), 1 when done, null in other states"))
    eta_seconds: int | None = Field(None, ge=0, description=(
        "estimated seconds left for a running step that reported progress p > 0: "
        "elapsed * (1 - p) / p since the attempt started; null otherwise"))


class AssetOut(BaseModel):
    id: str
    status: str = Field(description=" | ".join(AssetStatus))
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


def asset_out(a: AssetRecord, base_url: str) -> AssetOut:
    return AssetOut.model_validate(asset_json(a, base_url))
