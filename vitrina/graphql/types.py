"""The GraphQL object types: each wraps the record a service returned and answers its
fields from it, in the shapes the REST API answers (``vitrina.assets.views`` for
assets), so the two never disagree."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Any

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from vitrina.assets.records import MAX_PAGE, AssetRecord
from vitrina.assets.states import AssetStatus as _AssetStatus
from vitrina.assets.views import asset_json
from vitrina.errors import InvalidInput

AssetStatus = strawberry.enum(_AssetStatus, description="pending | processing | ready | failed")

#: derivative formats that are a video's renditions: the MP4 rungs, the audio-only
#: rung and the HLS master playlist (vitrina.media.ladder)
VIDEO_FORMATS = frozenset({"mp4", "m4a", "hls"})


@strawberry.type(description="One file the pipeline made from the original.")
class Derivative:
    width: int
    height: int
    format: str
    mime: str
    size_bytes: int
    path: str = strawberry.field(description="its place among the asset's files (what a playback URL names)")
    url: str


@strawberry.type(description="An analysis result and the producer (name, version) that made it.")
class Signal:
    name: str
    producer: str
    version: str
    value: JSON = strawberry.field(description="as REST shows it under signals.<name> (embeddings as their shape)")


@strawberry.type
class Colour:
    hex: str
    fraction: float


@strawberry.type(description="The signals most screens read, typed; `all` has every one.")
class Signals:
    found: strawberry.Private[dict[str, dict[str, Any]]]
    blurhash: str | None = strawberry.field(description="a compact placeholder picture (blurhash)")
    colours: list[Colour] | None = strawberry.field(description="the dominant colours, the largest share first")
    tags: JSON | None = strawberry.field(description="the image model's labels with their scores")
    faces: JSON | None = strawberry.field(description="face boxes as [x, y, w, h] fractions of the picture")
    text: str | None = strawberry.field(description="the text read in the picture (OCR)")

    @classmethod
    def of(cls, found: dict[str, dict[str, Any]]) -> Signals:
        def value(signal: str, member: str) -> Any:
            return found.get(signal, {}).get(member)

        colours = value("colors", "colors")
        return cls(found=found, blurhash=value("blurhash", "hash"),
                   colours=None if colours is None else [Colour(hex=c["hex"], fraction=c["fraction"])
                                                         for c in colours],
                   tags=value("imagenet", "tags"), faces=value("focus", "faces"), text=value("ocr", "text"))

    @strawberry.field(name="all", description="every signal, by name")
    def every(self, names: list[str] | None = None) -> list[Signal]:
        return [Signal(name=name, producer=s["producer"], version=s["version"],
                       value={k: v for k, v in s.items() if k not in ("producer", "version")})
                for name, s in sorted(self.found.items()) if names is None or name in names]


@strawberry.type(description="A step run of the asset's pipeline.")
class Step:
    step: str
    version: str
    state: str
    attempts: int
    error_code: str | None
    error: str | None
    progress: float | None
    eta_seconds: int | None


@strawberry.type(description="An image or a video of the caller's project.")
class Asset:
    # plain fields, filled once from the REST shape: a page of 100 assets resolves
    # thousands of fields, and a method per field costs more than the field's value
    id: strawberry.ID
    status: AssetStatus
    kind: str
    mime: str
    filename: str | None
    size_bytes: int
    sha256: str
    width: int | None
    height: int | None
    error: str | None
    metadata: JSON = strawberry.field(description="what probing the file found (format, pages, duration...)")
    signals: Signals
    steps: list[Step]
    original_url: str
    created_at: datetime
    updated_at: datetime
    title: str | None
    alt_text: str | None
    tags: list[str] = strawberry.field(description="the user's tags, normalised, sorted")
    fields: JSON = strawberry.field(description="free user fields")
    made: strawberry.Private[list[Derivative]]

    @classmethod
    def of(cls, record: AssetRecord, base_url: str) -> Asset:
        shown = asset_json(record, base_url)
        return cls(id=strawberry.ID(shown["id"]), status=_AssetStatus(shown["status"]), kind=shown["kind"],
                   mime=shown["mime"], filename=shown["filename"], size_bytes=shown["size_bytes"],
                   sha256=shown["sha256"], width=shown["width"], height=shown["height"], error=shown["error"],
                   metadata=shown["metadata"], signals=Signals.of(shown["signals"]),
                   steps=[Step(**{k: v for k, v in step.items() if k != "duration_ms"}) for step in shown["steps"]],
                   original_url=shown["original_url"], created_at=record.created_at,
                   updated_at=record.updated_at, title=shown["title"], alt_text=shown["alt_text"],
                   tags=shown["tags"], fields=shown["fields"], made=[Derivative(**d) for d in shown["derivatives"]])

    @classmethod
    def maybe(cls, record: AssetRecord | None, info: Info) -> Asset | None:
        return None if record is None else cls.of(record, info.context.base_url)

    @strawberry.field(description="every derivative, by width then format (a video's renditions too)")
    def derivatives(self, format: str | None = None) -> list[Derivative]:
        return [d for d in self.made if format is None or d.format == format]

    @strawberry.field(description="a video's renditions: its MP4 rungs and HLS files (none for an image)")
    def renditions(self) -> list[Derivative]:
        return [d for d in self.made if d.format in VIDEO_FORMATS]


@strawberry.type
class AssetPage:
    items: list[Asset]
    next_cursor: str | None = strawberry.field(description="pass it back as cursor for the next page")

    @classmethod
    def of(cls, page: Any, base_url: str) -> AssetPage:
        return cls(items=[Asset.of(a, base_url) for a in page.items], next_cursor=page.next_cursor)


@strawberry.type
class Collection:
    id: strawberry.ID
    name: str
    description: str | None
    asset_count: int
    created_at: datetime
    updated_at: datetime

    @strawberry.field(description="its assets, newest first, paged like the asset listing")
    async def assets(self, info: Info, limit: int = 50, cursor: str | None = None) -> AssetPage:
        from vitrina.graphql.arguments import text

        context = info.context
        if cursor is None:  # the first pages of every collection listed load together
            if not 1 <= limit <= MAX_PAGE:
                raise InvalidInput(f"limit must be between 1 and {MAX_PAGE}", details={"limit": limit})
            page = await context.first_pages.load((str(self.id), limit))
        else:
            page = context.runtime.assets.list(context.project, collection=str(self.id), limit=limit,
                                               cursor=text(cursor, "cursor", 200))
        return AssetPage.of(page, context.base_url)


@strawberry.type
class CollectionPage:
    items: list[Collection]
    next_cursor: str | None


@strawberry.type
class SearchHit:
    asset: Asset
    score: float = strawberry.field(description="reciprocal rank fusion of the components' contributions")
    explain: JSON = strawberry.field(description="each component that found the asset: its score, rank and share")


@strawberry.type
class SearchResult:
    items: list[SearchHit]
    next_cursor: str | None
    components: list[str]
    total: int


@strawberry.enum
class SimilarBy(Enum):
    IMAGE = "image"
    TEXT = "text"
    CLIP = "clip"


@strawberry.type
class Neighbour:
    asset: Asset
    similarity: float


@strawberry.type
class SimilarResult:
    asset_id: strawberry.ID
    by: str
    embedded: bool
    similar: list[Neighbour]


@strawberry.type(description="An experiment (or a flag) of the project.")
class Experiment:
    record: strawberry.Private[Any]

    @strawberry.field
    def key(self) -> str:
        return self.record.key

    @strawberry.field(description="draft | running | stopped")
    def status(self) -> str:
        return self.record.experiment.status.value

    @strawberry.field
    def killed(self) -> bool:
        return self.record.experiment.killed

    @strawberry.field
    def revision(self) -> int:
        return self.record.revision

    @strawberry.field(description="as PUT /v1/experiments/{key} takes it")
    def definition(self) -> JSON:
        return self.record.experiment.to_dict()

    @strawberry.field(description="the analysis plan (null: none)")
    def plan(self) -> JSON | None:
        return None if self.record.plan is None else self.record.plan.to_dict()

    @strawberry.field
    def created_at(self) -> datetime:
        return self.record.created_at

    @strawberry.field
    def updated_at(self) -> datetime:
        return self.record.updated_at

    @strawberry.field(description="the full result, as GET /v1/experiments/{key}/results answers it")
    async def results(self, info: Info, end: float | None = None) -> JSON:
        context = info.context
        result = context.experiments.result(context.project, self.record.key, end)
        return result.to_dict()


@strawberry.type
class ExperimentPage:
    items: list[Experiment]
    next_cursor: str | None


@strawberry.type(description="An item in a served list: log it with the impression.")
class RecommendedItem:
    item_id: str
    score: float
    position: int
    propensity: float


@strawberry.type
class Recommendations:
    user: str
    items: list[RecommendedItem]
    model: str
    version: int
    surface: str | None
    experiment: str | None
    variant: str | None
    propensity: float | None
    request_id: str
    fallback: str | None


@strawberry.type
class Creative:
    id: strawberry.ID
    item_id: str
    placement: str
    status: str = strawberry.field(description="ready | rejected")
    variant: str
    factors: JSON
    text: JSON
    image_asset_id: str = strawberry.field(description="the item's photo it shows")
    reasons: list[str]
    gates: JSON
    asset_id: str | None
    image_url: str | None = strawberry.field(description="a signed /img URL of a ready creative")
    brand_kit: JSON
    template: JSON

    @strawberry.field(description="the rendered creative as an asset (null until ready)")
    async def asset(self, info: Info) -> Asset | None:
        if self.asset_id is None:
            return None
        return Asset.maybe(await info.context.assets.load(self.asset_id), info)

    @strawberry.field(description="the item's photo the creative was made from")
    async def image(self, info: Info) -> Asset | None:
        return Asset.maybe(await info.context.assets.load(self.image_asset_id), info)


@strawberry.type
class CreativePage:
    items: list[Creative]
    next_cursor: str | None
