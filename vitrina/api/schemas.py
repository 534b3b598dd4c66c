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
    metadata: dict[str, Any] = Field(description="what probing the file found (format, pages, ...)")
    derivatives: list[DerivativeOut]
    signals: dict[str, dict[str, Any]] = Field(description="name -> {producer, version, ...value}")
    steps: list[StepOut]
    original_url: str
    created_at: datetime
    updated_at: datetime
    title: str | None = Field(None, description="set by PATCH; null until then")
    alt_text: str | None = None
    tags: list[str] = Field(default_factory=list, description="the user's tags, normalised, sorted")
    fields: dict[str, str | int | float | bool] = Field(default_factory=dict, description="free user fields")
    metadata_version: int = Field(0, ge=0, description=(
        "bumped by every PATCH that changes title, alt_text, tags or fields: an analyser of the "
        "text records the version it read, and is stale when this moved past it"))
    metadata_updated_at: datetime | None = Field(None, description="when that last happened")


class AssetList(BaseModel):
    items: list[AssetOut]
    next_cursor: str | None


def asset_out(a: AssetRecord, base_url: str) -> AssetOut:
    return AssetOut.model_validate(asset_json(a, base_url))


# --- user metadata and collections (decision 022) --------------------------------------
FieldValue = str | int | float | bool


class AssetMetadataIn(BaseModel):
    """``PATCH /v1/assets/{id}``: a missing member stays as it is; the route checks the
    body itself (``invalid_metadata``), this model documents it."""

    model_config = {"extra": "forbid"}
    title: str | None = Field(None, max_length=300, description="null clears it")
    alt_text: str | None = Field(None, max_length=1000, description="null clears it")
    tags: list[str] | None = Field(None, max_length=50, description=(
        "replaces the user's tags; each trimmed and lower-cased, 1 to 64 characters"))
    fields: dict[str, FieldValue | None] | None = Field(None, max_length=50, description=(
        "merged key by key; keys [a-z0-9_.-]{1,64}, strings up to 1000 characters; null deletes a key"))


class CollectionIn(BaseModel):
    model_config = {"extra": "forbid"}
    name: str = Field(min_length=1, max_length=128, description="unique in the project, trimmed")
    description: str | None = Field(None, max_length=2000)


class CollectionPatchIn(BaseModel):
    """A missing member stays as it is; a null description clears it."""

    model_config = {"extra": "forbid"}
    name: str | None = Field(None, min_length=1, max_length=128)
    description: str | None = Field(None, max_length=2000)


class CollectionOut(BaseModel):
    id: str
    name: str
    description: str | None
    asset_count: int
    created_at: datetime
    updated_at: datetime


class CollectionList(BaseModel):
    items: list[CollectionOut]
    next_cursor: str | None


def json_request(model: type[BaseModel]) -> dict[str, Any]:
    """``openapi_extra`` documenting a JSON body of ``model``'s shape, for routes that
    read and check their body themselves (to answer their own stable codes)."""
    return {"requestBody": {"required": True,
                            "content": {"application/json": {"schema": model.model_json_schema()}}}}
