"""/v1/assets/{id}/duplicates: an asset's duplicates in its project, by tier (decision 024)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from vitrina.api.deps import get_runtime, project_of, require
from vitrina.search.duplicates import find_duplicates

router = APIRouter(prefix="/v1/assets", tags=["assets"])


class DuplicateOut(BaseModel):
    asset_id: str
    tier: str = Field(description="exact (same bytes or same pixels), near (a perceptual-hash match) "
                                  "or similar (close image embeddings: a burst, a re-shoot, a heavy crop)")
    distance: int = Field(description="Hamming distance of the closest pHashes, in bits (0 for exact)")
    similarity: float | None = Field(None, description="Cosine similarity of the image embeddings; "
                                                       "null while either asset has none")


class DuplicatesOut(BaseModel):
    asset_id: str
    hashed: bool = Field(description="False while the asset has no perceptual hash yet (still "
                                     "processing, or not an image): nothing was compared")
    duplicates: list[DuplicateOut]


@router.get("/{asset_id}/duplicates", response_model=DuplicatesOut, dependencies=[Depends(require("read"))])
def asset_duplicates(asset_id: str, request: Request) -> DuplicatesOut:
    """The project's assets that show the same picture: exact first, then near by distance,
    then similar by similarity."""
    report = find_duplicates(get_runtime(request).assets, project_of(request), asset_id)
    return DuplicatesOut(asset_id=report.asset_id, hashed=report.hashed,
                         duplicates=[DuplicateOut(asset_id=d.asset_id, tier=d.tier, distance=d.distance,
                                                  similarity=d.similarity)
                                     for d in report.duplicates])
