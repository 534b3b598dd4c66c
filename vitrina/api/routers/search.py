"""/v1/search (hybrid search with explanations) and /v1/assets/{id}/similar (search by
example), decision 027."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from vitrina.api.deps import get_runtime, project_of, require
from vitrina.api.routers.assets import _base_url
from vitrina.api.schemas import AssetOut, asset_out
from vitrina.search.colour import DEFAULT_TOLERANCE, MAX_TOLERANCE, MIN_TOLERANCE
from vitrina.search.query import MAX_LIMIT, MAX_QUERY, parse_query
from vitrina.search.service import RRF_K, SIMILAR_BY

router = APIRouter(tags=["search"])


class KeywordExplain(BaseModel):
    score: float = Field(description="BM25F of the query terms over the asset's fields")
    rank: int = Field(ge=1)
    contribution: float = Field(description="1 / (k + rank): this component's share of the score")
    matched: list[dict[str, str]] = Field(description="{field, term}: fields are title, alt_text, "
                                                      "user_tags, model_tags, ocr")


class EmbeddingExplain(BaseModel):
    similarity: float = Field(description="cosine of the query's and the asset's embeddings")
    rank: int = Field(ge=1)
    contribution: float


class ColorExplain(BaseModel):
    hex: str = Field(description="the asset's dominant colour that counted most")
    delta_e: float = Field(description="its CIELAB distance (CIE 1976) to the query colour")
    fraction: float = Field(description="the share of the picture that colour covers")
    score: float = Field(description="sum over dominant colours of fraction * (1 - ΔE / tolerance)")
    rank: int = Field(ge=1)
    contribution: float


class Explain(BaseModel):
    """One entry per component of the query; null where that component did not find the asset."""

    keyword: KeywordExplain | None = None
    text_embedding: EmbeddingExplain | None = None
    clip: EmbeddingExplain | None = None
    color: ColorExplain | None = None


class SearchHit(BaseModel):
    asset: AssetOut
    score: float = Field(description="reciprocal rank fusion: the sum of the components' contributions")
    explain: Explain = Field(description="each component that found the asset: its own score, rank and share")


class SearchOut(BaseModel):
    items: list[SearchHit]
    next_cursor: str | None
    components: list[str] = Field(description="what ranked this query: keyword, text_embedding, clip, "
                                              "color; none for a filtered listing (newest first)")
    fusion: dict[str, Any] = Field(description='{"method": "rrf", "k": 60}')
    total: int = Field(ge=0, description="assets the query kept, over all pages")


class Neighbour(BaseModel):
    asset: AssetOut
    similarity: float = Field(description="cosine of the two embeddings (1: the same)")


class SimilarOut(BaseModel):
    asset_id: str
    by: str
    embedded: bool = Field(description="False while the asset has no such embedding yet (still "
                                       "processing, the model off, not an image): nothing was compared")
    similar: list[Neighbour]


@router.get("/v1/search", response_model=SearchOut, dependencies=[Depends(require("read"))])
def search(
    request: Request,
    q: str | None = Query(None, description=f"words, at most {MAX_QUERY} characters (query_too_long)"),
    color: str | None = Query(None, max_length=64, description="#rrggbb: rank by how much of the picture is "
                                                               "near this colour (invalid_color)"),
    color_tolerance: float | None = Query(None, ge=MIN_TOLERANCE, le=MAX_TOLERANCE,
                                          description=f"largest CIELAB ΔE that counts (default {DEFAULT_TOLERANCE:g})"),
    kind: str | None = Query(None, pattern="^[a-z][a-z0-9_.+-]{0,15}$"),
    tag: str | None = Query(None, max_length=200, description="only assets with this tag (the user's or a model's)"),
    collection: str | None = Query(None, pattern="^[0-9a-f]{32}$",
                                   description="only assets in this collection (an unknown one: none)"),
    min_width: int | None = Query(None, ge=0, le=10**9),
    max_width: int | None = Query(None, ge=0, le=10**9),
    min_height: int | None = Query(None, ge=0, le=10**9),
    max_height: int | None = Query(None, ge=0, le=10**9),
    created_after: str | None = Query(None, max_length=64, description="ISO 8601 date or date-time (invalid_date)"),
    created_before: str | None = Query(None, max_length=64, description="ISO 8601, exclusive"),
    limit: int = Query(20, ge=1, le=MAX_LIMIT),
    cursor: str | None = Query(None, max_length=200),
) -> Any:
    """Hybrid search: keyword (BM25F), text embedding and colour, fused by reciprocal
    rank; filters apply first. No ``q`` and no ``color``: the filtered assets, newest first."""
    query = parse_query(q=q, color=color, color_tolerance=color_tolerance, kind=kind, tag=tag,
                        collection=collection, min_width=min_width, max_width=max_width,
                        min_height=min_height, max_height=max_height, created_after=created_after,
                        created_before=created_before, limit=limit, cursor=cursor)
    rt = get_runtime(request)
    page = rt.search.search(project_of(request), query)
    base = _base_url(request, rt)
    return SearchOut(
        items=[SearchHit(asset=asset_out(h.asset, base), score=h.score, explain=Explain(**h.explain))
               for h in page.items],
        next_cursor=page.next_cursor, components=list(page.components),
        fusion={"method": "rrf", "k": RRF_K}, total=page.total)


@router.get("/v1/assets/{asset_id}/similar", response_model=SimilarOut, tags=["assets"],
            dependencies=[Depends(require("read"))])
async def similar(asset_id: str, request: Request, limit: int = Query(10, ge=1, le=MAX_LIMIT),
                  by: str = Query("image", pattern=f"^({'|'.join(SIMILAR_BY)})$",
                                  description="image (the image embedding), text (the text "
                                              "embedding) or clip (the joint model's image embedding)")) -> SimilarOut:
    """The project's assets nearest to this one by an embedding, most similar first."""
    rt = get_runtime(request)
    found = await run_in_threadpool(rt.search.similar, project_of(request), asset_id, by=by, limit=limit)
    base = _base_url(request, rt)
    return SimilarOut(asset_id=found.asset_id, by=found.by, embedded=found.embedded,
                      similar=[Neighbour(asset=asset_out(n.asset, base), similarity=n.similarity)
                               for n in found.similar])
