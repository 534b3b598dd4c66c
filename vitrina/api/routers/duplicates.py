"""/v1/assets/{id}/duplicates: an asset's duplicates in its project, by tier (decision 024)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from vitrina.api.deps import get_runtime, project_of, require
from vitrina.search.duplicates import find_duplicates

router = APIRouter(prefix="/v1/assets", tags=["assets"])


class DuplicateOut(BaseModel):
    asset_id: str
    tier: str = Field(description="exact (same bytes or same pixels) or near (a perceptual match)")
    distance: int = Field(description="Hamming distance of the closest pHashes, in bits (0 for exact)")


class DuplicatesOut(BaseModel):
    asset_id: str
    hashed: bool = Field(description="False while the asset has no perceptual hash yet (still "
                                     "processing, or not an image): nothing was compared")
    duplicates: list[DuplicateOut]


@router.get("/{asset_id}/duplicates", response_model=DuplicatesOut, dependencies=[Depends(require("read"))])
def asset_duplicates(asset_id: str, request: Request) -> DuplicatesOut:
    """The project's assets that show the same picture: exact first, then near by distance."""
    report = find_duplicates(get_runtime(request).assets, project_of(request), asset_id)
    return DuplicatesOut(asset_id=report.asset_id, hashed=report.hashed,
                         duplicates=[DuplicateOut(asset_id=d.asset_id, tier=d.tier, distance=d.distance)
                                     for d in report.duplicates])
