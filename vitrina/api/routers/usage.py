"""/v1/usage: what the caller's project holds, what it served, and its quotas."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from vitrina.api.deps import get_runtime, project_of, require

router = APIRouter(prefix="/v1/usage", tags=["usage"])


class KindOut(BaseModel):
    kind: str
    assets: int
    bytes: int


class CostOut(BaseModel):
    price_per_gb_month: float
    gb: float = Field(description="bytes held / 10^9")
    per_month: float


class ClassOut(BaseModel):
    kind: str = Field(description="the assets' media kind: image, video...")
    class_: str = Field(alias="class", description="original (uploads), rendition (video MP4 and HLS), "
                                                  "storyboard, derivative (image sizes) or other")
    files: int
    bytes: int
    cost_per_month: float | None = Field(description="null unless a storage price is set")


class DedupeOut(BaseModel):
    bytes: int = Field(description="bytes of this project's originals another project had stored first "
                                   "(kept once, paid by the first holder)")
    assets: int


class PerTitleOut(BaseModel):
    bytes: int = Field(description="fixed_ladder_bytes - ladder_bytes (negative when per-title stored more)")
    fixed_ladder_bytes: int = Field(description="what a fixed-bitrate ladder would have stored, from the "
                                                "videos' ladder signals")
    ladder_bytes: int = Field(description="what the per-title ladder stored for the same rungs")
    titles: int = Field(description="videos with a ladder signal")


class SavedOut(BaseModel):
    dedupe: DedupeOut
    per_title: PerTitleOut


class BreakdownOut(BaseModel):
    bytes: int = Field(description="every file of the project's assets (originals, renditions, derivatives...)")
    stored_bytes: int = Field(description="bytes minus dedupe savings: what the project adds to storage")
    stored_cost_per_month: float | None = Field(description="null unless a storage price is set")
    classes: list[ClassOut] = Field(description="by kind, then class")
    saved: SavedOut


class StorageOut(BaseModel):
    assets: int
    bytes: int = Field(description="the sum of the project's assets' sizes (shared bytes count for each project)")
    by_kind: list[KindOut]
    cost: CostOut | None = Field(description="null unless VITRINA_PROJECTS__STORAGE_PRICE_PER_GB_MONTH is set")
    breakdown: BreakdownOut = Field(description="every file by kind and class, and the bytes dedupe and "
                                                "per-title encoding saved")


class TrafficOut(BaseModel):
    today: dict[str, int] = Field(description="renders, image_bytes_served, original_bytes_downloaded, "
                                              "derivative_bytes_downloaded, video_bytes_served since 00:00 UTC")
    month: dict[str, int] = Field(description="the same since the first of the month (UTC)")
    month_start: str


class QuotaOut(BaseModel):
    limit: int = Field(description="0 = unlimited")
    current: int = Field(description="held now (max_bytes, max_assets) or taken this minute (the rates)")


class UsageOut(BaseModel):
    project: str
    as_of: str
    storage: StorageOut
    traffic: TrafficOut
    quotas: dict[str, QuotaOut]


@router.get("", response_model=UsageOut, dependencies=[Depends(require("read"))])
async def usage(request: Request) -> UsageOut:
    """The caller's project: assets and bytes by media kind (and their monthly cost when a
    price is set), every file by kind and class with the bytes dedupe and per-title
    encoding saved, renders and bytes served by /img and /video and downloaded (today and this month;
    each server process writes its counts every few seconds), and each quota with its
    limit and current figure."""
    report = await run_in_threadpool(get_runtime(request).usage.report, project_of(request))
    return UsageOut.model_validate(report.to_dict())
