"""The root query: each field checks its arguments as the REST route does, then calls
the service that route calls, in the caller's project."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

import strawberry
from strawberry.types import Info

from vitrina.collections.repository import CollectionRecord
from vitrina.collections.service import CollectionService
from vitrina.errors import InvalidInput, NotFound
from vitrina.graphql.arguments import text
from vitrina.graphql.limits import MAX_QUERY_CHARS
from vitrina.graphql.types import (
    Asset,
    AssetPage,
    AssetStatus,
    Collection,
    CollectionPage,
    Creative,
    CreativePage,
    Experiment,
    ExperimentPage,
    Neighbour,
    Recommendations,
    RecommendedItem,
    SearchHit,
    SearchResult,
    SimilarBy,
    SimilarResult,
)
from vitrina.recs.serving import MAX_K, RecsService
from vitrina.search.query import parse_query
from vitrina.storage.catalog.experiments import KEY_LENGTH, UNIT_LENGTH

T = TypeVar("T")
#: a listing's page size, as REST bounds it
MAX_PAGE = 500
_KIND = r"[a-z][a-z0-9_.+-]{0,15}"
_ID = r"[0-9a-f]{32}"


async def call(info: Info, method: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """``method(project, *args, **kwargs)``: blocking is fine, the request has its own
    thread and loop (:func:`vitrina.graphql.schema.execute`)."""
    return method(info.context.project, *args, **kwargs)


def bounded(value: float | None, name: str, low: float, high: float) -> None:
    if value is not None and not low <= value <= high:
        raise InvalidInput(f"{name} must be between {low:g} and {high:g}", details={"argument": name})


def collection_of(record: CollectionRecord) -> Collection:
    return Collection(id=strawberry.ID(record.id), name=record.name, description=record.description,
                      asset_count=record.asset_count, created_at=record.created_at, updated_at=record.updated_at)


@strawberry.type
class Query:
    @strawberry.field(description="The project's assets, newest first, filtered like GET /v1/assets.")
    async def assets(self, info: Info, status: AssetStatus | None = None, kind: str | None = None,
                     mime: str | None = None, collection: str | None = None, tag: str | None = None,
                     limit: int = 50, cursor: str | None = None) -> AssetPage:
        page = await call(info, info.context.runtime.assets.list, status=status, kind=text(kind, "kind", 16, _KIND),
                          mime=text(mime, "mime", 100), collection=text(collection, "collection", 32, _ID),
                          tag=text(tag, "tag", 200, min_length=1), limit=limit, cursor=text(cursor, "cursor", 200))
        return AssetPage.of(page, info.context.base_url)

    @strawberry.field(description="One asset; null for an unknown id or another project's.")
    async def asset(self, info: Info, id: strawberry.ID) -> Asset | None:
        asset_id = text(str(id), "id", 64)
        return Asset.maybe(await info.context.assets.load(asset_id), info)

    @strawberry.field(description="Hybrid search (words, colour, filters) as GET /v1/search.")
    async def search(self, info: Info, q: str | None = None, color: str | None = None,
                     color_tolerance: float | None = None, kind: str | None = None, tag: str | None = None,
                     collection: str | None = None, min_width: int | None = None, max_width: int | None = None,
                     min_height: int | None = None, max_height: int | None = None,
                     created_after: str | None = None, created_before: str | None = None,
                     limit: int = 20, cursor: str | None = None) -> SearchResult:
        # q as long as a query may be: the search service refuses a long one itself
        # (query_too_long), as for REST
        query = parse_query(q=text(q, "q", MAX_QUERY_CHARS), color=text(color, "color", 64), color_tolerance=color_tolerance,
                            kind=text(kind, "kind", 16, _KIND), tag=text(tag, "tag", 200),
                            collection=text(collection, "collection", 32, _ID), min_width=min_width,
                            max_width=max_width, min_height=min_height, max_height=max_height,
                            created_after=text(created_after, "createdAfter", 64),
                            created_before=text(created_before, "createdBefore", 64),
                            limit=limit, cursor=text(cursor, "cursor", 200))
        page = await call(info, info.context.runtime.search.search, query)
        base = info.context.base_url
        return SearchResult(items=[SearchHit(asset=Asset.of(h.asset, base), score=h.score, explain=h.explain)
                                   for h in page.items],
                            next_cursor=page.next_cursor, components=list(page.components), total=page.total)

    @strawberry.field(description="The project's assets nearest this one by an embedding, most similar first.")
    async def similar(self, info: Info, asset_id: strawberry.ID, by: SimilarBy = SimilarBy.IMAGE,
                      limit: int = 10) -> SimilarResult:
        bounded(limit, "limit", 1, 100)
        found = await call(info, info.context.runtime.search.similar, text(str(asset_id), "assetId", 64),
                           by=by.value, limit=limit)
        base = info.context.base_url
        return SimilarResult(asset_id=strawberry.ID(found.asset_id), by=found.by, embedded=found.embedded,
                             similar=[Neighbour(asset=Asset.of(n.asset, base), similarity=n.similarity)
                                      for n in found.similar])

    @strawberry.field(description="The project's collections, newest first.")
    async def collections(self, info: Info, limit: int = 50, cursor: str | None = None) -> CollectionPage:
        service = CollectionService.of(info.context.runtime)
        page = await call(info, service.list, limit=limit, cursor=text(cursor, "cursor", 200))
        return CollectionPage(items=[collection_of(c) for c in page.items], next_cursor=page.next_cursor)

    @strawberry.field(description="One collection; null for an unknown id or another project's.")
    async def collection(self, info: Info, id: strawberry.ID) -> Collection | None:
        service = CollectionService.of(info.context.runtime)
        try:
            return collection_of(await call(info, service.get, text(str(id), "id", 64)))
        except NotFound:
            return None

    @strawberry.field(description="The project's experiments by key.")
    async def experiments(self, info: Info, status: str | None = None, limit: int = 100,
                          cursor: str | None = None) -> ExperimentPage:
        text(status, "status", 16, "draft|running|stopped")
        bounded(limit, "limit", 1, MAX_PAGE)
        records = await call(info, info.context.experiments.list, status, limit + 1,
                             text(cursor, "cursor", 128))
        more = len(records) > limit
        records = records[:limit]
        return ExperimentPage(items=[Experiment(record=r) for r in records],
                              next_cursor=records[-1].key if more else None)

    @strawberry.field(description="One experiment; null for an unknown key or another project's.")
    async def experiment(self, info: Info, key: str) -> Experiment | None:
        try:
            return Experiment(record=await call(info, info.context.experiments.get, text(key, "key", KEY_LENGTH)))
        except NotFound:
            return None

    @strawberry.field(description="The k best items for a user, as GET /v1/recommendations (the surface's "
                                  "experiment logs the exposure).")
    async def recommendations(self, info: Info, user: str, k: int = 10, surface: str | None = None,
                              exclude_seen: bool = True, diversity: float | None = None,
                              freshness_days: float | None = None) -> Recommendations:
        text(user, "user", UNIT_LENGTH, min_length=1)
        text(surface, "surface", KEY_LENGTH, min_length=1)
        bounded(k, "k", 1, MAX_K)
        bounded(diversity, "diversity", 0, 1)
        bounded(freshness_days, "freshnessDays", 1e-9, 36_500)
        started = time.perf_counter()
        service = RecsService.of(info.context.runtime)
        r = await call(info, service.recommend, user, k, exclude_seen, surface, diversity, freshness_days)
        metrics = info.context.metrics  # the same series as REST's answers
        labels = (surface or "", r.model, r.variant or "")
        metrics.recs_latency.labels(*labels).observe(time.perf_counter() - started)
        metrics.recs_served.labels(*labels, r.fallback or "").inc()
        return Recommendations(user=r.user, items=[RecommendedItem(**i) for i in r.items], model=r.model,
                               version=r.version, surface=surface, experiment=r.experiment, variant=r.variant,
                               propensity=r.propensity, request_id=r.request_id, fallback=r.fallback)

    @strawberry.field(description="A campaign's stored creatives by id, as GET /v1/campaigns/{id}/creatives.")
    async def creatives(self, info: Info, campaign: str, placement: str | None = None, status: str | None = None,
                        limit: int = 100, cursor: str | None = None) -> CreativePage:
        from vitrina.creative.campaigns import list_creatives

        page = await call(info, lambda project: list_creatives(
            info.context.runtime, project, text(campaign, "campaign", 64), placement=text(placement, "placement", 64),
            status=text(status, "status", 16), limit=limit, cursor=text(cursor, "cursor", 64)))
        return CreativePage(items=[creative_of(i) for i in page.items], next_cursor=page.next_cursor)


def creative_of(item: dict[str, Any]) -> Creative:
    return Creative(id=strawberry.ID(item["id"]), item_id=item["item_id"], placement=item["placement"],
                    status=item["status"], variant=item["variant"], factors=item["factors"], text=item["text"],
                    image_asset_id=item["image_asset"], reasons=item["reasons"], gates=item["gates"],
                    asset_id=item["asset_id"], image_url=item["image_url"], brand_kit=item["brand_kit"],
                    template=item["template"])
