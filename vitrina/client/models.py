"""What the API returns, as frozen dataclasses.

Parsing ignores fields it does not know, so a newer server keeps working with an
older SDK; fields the API documents as always present are required.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

#: the states an asset goes through; ``ready`` and ``failed`` are final
STATUSES = ("pending", "processing", "ready", "failed")


@dataclass(frozen=True)
class Derivative:
    """One pre-rendered rendition of an image asset."""

    asset_id: str
    width: int
    height: int
    format: str
    mime: str
    size_bytes: int
    url: str
    #: its place among the asset's files, e.g. ``hls/master.m3u8`` (for Client.video_url)
    path: str = ""

    @property
    def name(self) -> str:
        """The path segment the API uses for it, e.g. ``320.webp``."""
        return f"{self.width}.{self.format}"

    @classmethod
    def from_json(cls, asset_id: str, data: Mapping[str, Any]) -> Derivative:
        return cls(asset_id=asset_id, width=int(data["width"]), height=int(data["height"]),
                   format=str(data["format"]), mime=str(data["mime"]),
                   size_bytes=int(data["size_bytes"]), url=str(data["url"]), path=str(data.get("path", "")))


@dataclass(frozen=True)
class Signal:
    """One analysis result (``blurhash``, ``phash``, ``colors``, ``quality``...) and who made it."""

    name: str
    producer: str
    version: str
    #: the signal's own fields, e.g. ``{"hash": "..."}`` for phash
    value: Mapping[str, Any] = field(hash=False)

    @classmethod
    def from_json(cls, name: str, data: Mapping[str, Any]) -> Signal:
        value = {k: v for k, v in data.items() if k not in ("producer", "version")}
        return cls(name=name, producer=str(data.get("producer", "")),
                   version=str(data.get("version", "")), value=value)


@dataclass(frozen=True)
class StepInfo:
    """The state of one pipeline step (probe, derivatives, analysis...) for an asset."""

    step: str
    version: str
    state: str
    attempts: int
    error: str | None = None
    duration_ms: float | None = None
    #: fraction done (0 to 1): as a running step last reported it, 1 when done, else None
    progress: float | None = None
    #: estimated seconds left for a running step that reported progress, else None
    eta_seconds: int | None = None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> StepInfo:
        return cls(step=str(data["step"]), version=str(data.get("version", "")),
                   state=str(data["state"]), attempts=int(data.get("attempts", 0)),
                   error=data.get("error"), duration_ms=data.get("duration_ms"),
                   progress=data.get("progress"), eta_seconds=data.get("eta_seconds"))


@dataclass(frozen=True)
class Asset:
    id: str
    status: str
    kind: str
    mime: str
    filename: str | None
    size_bytes: int
    sha256: str
    width: int | None
    height: int | None
    error: str | None
    metadata: Mapping[str, Any] = field(hash=False)
    derivatives: tuple[Derivative, ...]
    signals: Mapping[str, Signal] = field(hash=False)
    steps: tuple[StepInfo, ...]
    original_url: str
    created_at: datetime
    updated_at: datetime
    #: user metadata (``Client.update_asset``); older servers send none of it
    title: str | None = None
    alt_text: str | None = None
    tags: tuple[str, ...] = ()
    fields: Mapping[str, str | int | float | bool] = field(default_factory=dict, hash=False)
    #: bumped by every change to the four above: text derived from them is stale when it moves
    metadata_version: int = 0

    @property
    def is_ready(self) -> bool:
        return self.status == "ready"

    @property
    def is_final(self) -> bool:
        """Ready or failed: polling further will not change the status."""
        return self.status in ("ready", "failed")

    def derivative(self, width: int, format: str) -> Derivative:
        """The derivative of exactly this width and format; KeyError names the ones there are."""
        for d in self.derivatives:
            if d.width == width and d.format == format:
                return d
        have = ", ".join(d.name for d in self.derivatives) or "none"
        raise KeyError(f"asset {self.id} has no derivative {width}.{format} (has: {have})")

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Asset:
        asset_id = str(data["id"])
        return cls(
            id=asset_id, status=str(data["status"]), kind=str(data["kind"]), mime=str(data["mime"]),
            filename=data.get("filename"), size_bytes=int(data["size_bytes"]), sha256=str(data["sha256"]),
            width=data.get("width"), height=data.get("height"), error=data.get("error"),
            metadata=dict(data.get("metadata") or {}),
            derivatives=tuple(Derivative.from_json(asset_id, d) for d in data.get("derivatives") or ()),
            signals={n: Signal.from_json(n, v) for n, v in (data.get("signals") or {}).items()},
            steps=tuple(StepInfo.from_json(s) for s in data.get("steps") or ()),
            original_url=str(data["original_url"]),
            created_at=datetime.fromisoformat(data["created_at"]),
            updated_at=datetime.fromisoformat(data["updated_at"]),
            title=data.get("title"), alt_text=data.get("alt_text"), tags=tuple(data.get("tags") or ()),
            fields=dict(data.get("fields") or {}), metadata_version=int(data.get("metadata_version") or 0),
        )


@dataclass(frozen=True)
class AssetPage:
    """One page of a listing; pass ``next_cursor`` back for the next (None: this was the last)."""

    items: tuple[Asset, ...]
    next_cursor: str | None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> AssetPage:
        return cls(items=tuple(Asset.from_json(a) for a in data["items"]),
                   next_cursor=data.get("next_cursor") or None)


@dataclass(frozen=True)
class Collection:
    """A named set of the project's assets."""

    id: str
    name: str
    description: str | None
    asset_count: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Collection:
        return cls(id=str(data["id"]), name=str(data["name"]), description=data.get("description"),
                   asset_count=int(data["asset_count"]), created_at=datetime.fromisoformat(data["created_at"]),
                   updated_at=datetime.fromisoformat(data["updated_at"]))


@dataclass(frozen=True)
class CollectionPage:
    items: tuple[Collection, ...]
    next_cursor: str | None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> CollectionPage:
        return cls(items=tuple(Collection.from_json(c) for c in data["items"]),
                   next_cursor=data.get("next_cursor") or None)


@dataclass(frozen=True)
class UploadResult:
    """The stored asset, and whether this upload created it (False: the same bytes existed)."""

    asset: Asset
    created: bool


@dataclass(frozen=True)
class Health:
    """The server's readiness: ``ok`` and one entry per dependency it checked."""

    ok: bool
    checks: Mapping[str, str] = field(hash=False)


@dataclass(frozen=True)
class SearchHit:
    """One asset a search found: its score (reciprocal rank fusion) and why: ``explain``
    has an entry per component that found it (``keyword``: score, rank, matched
    ``{field, term}``; ``text_embedding``/``clip``: similarity, rank; ``color``: hex,
    delta_e, fraction, score, rank), each with its ``contribution`` to the score."""

    asset: Asset
    score: float
    explain: Mapping[str, Any] = field(hash=False)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> SearchHit:
        explain = {k: v for k, v in (data.get("explain") or {}).items() if v is not None}
        return cls(asset=Asset.from_json(data["asset"]), score=float(data["score"]), explain=explain)


@dataclass(frozen=True)
class SearchPage:
    """One page of search results, best first; pass ``next_cursor`` back (with the same
    query) for the next (None: this was the last)."""

    items: tuple[SearchHit, ...]
    next_cursor: str | None
    #: what ranked the query: keyword, text_embedding, clip, color (none: a filtered listing)
    components: tuple[str, ...] = ()
    #: how many assets the query found, over all pages
    total: int = 0

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> SearchPage:
        return cls(items=tuple(SearchHit.from_json(h) for h in data["items"]),
                   next_cursor=data.get("next_cursor") or None,
                   components=tuple(data.get("components") or ()), total=int(data.get("total") or 0))


@dataclass(frozen=True)
class SimilarAsset:
    asset: Asset
    #: cosine of the two embeddings (1: the same)
    similarity: float

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> SimilarAsset:
        return cls(asset=Asset.from_json(data["asset"]), similarity=float(data["similarity"]))


@dataclass(frozen=True)
class SimilarResult:
    """The assets most like ``asset_id`` by the embedding ``by`` names; ``embedded`` is
    False while the asset has none yet (nothing was compared)."""

    asset_id: str
    by: str
    embedded: bool
    similar: tuple[SimilarAsset, ...]

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> SimilarResult:
        return cls(asset_id=str(data["asset_id"]), by=str(data["by"]), embedded=bool(data["embedded"]),
                   similar=tuple(SimilarAsset.from_json(s) for s in data.get("similar") or ()))


@dataclass(frozen=True)
class Upserted:
    """What a batch of items did: new, changed, and already identical."""

    new: int
    updated: int
    unchanged: int

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Upserted:
        return cls(new=int(data["new"]), updated=int(data["updated"]), unchanged=int(data["unchanged"]))


@dataclass(frozen=True)
class Logged:
    """Events stored by a batch, and those skipped because their id was stored before."""

    accepted: int
    duplicates: int

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Logged:
        return cls(accepted=int(data["accepted"]), duplicates=int(data.get("duplicates") or 0))


@dataclass(frozen=True)
class RecommendedItem:
    item_id: str
    score: float
    position: int
    #: the probability it was placed here given the places before (1 without exploration)
    propensity: float = 1.0

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RecommendedItem:
        return cls(item_id=str(data["item_id"]), score=float(data["score"]),
                   position=int(data["position"]), propensity=float(data.get("propensity", 1.0)))


@dataclass(frozen=True)
class Recommendations:
    """A list for a user (or the items like an item): which model and version made it,
    and, under a surface experiment, the variant and its probability. Send
    :meth:`impressions` back when the list is shown."""

    user: str
    items: tuple[RecommendedItem, ...]
    model: str
    version: int
    request_id: str | None = None
    surface: str | None = None
    experiment: str | None = None
    variant: str | None = None
    propensity: float | None = None
    fallback: str | None = None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Recommendations:
        return cls(user=str(data.get("user") or data.get("item_id")),
                   items=tuple(RecommendedItem.from_json(i) for i in data["items"]),
                   model=str(data["model"]), version=int(data["version"]),
                   request_id=data.get("request_id"), surface=data.get("surface"),
                   experiment=data.get("experiment"), variant=data.get("variant"),
                   propensity=data.get("propensity"), fallback=data.get("fallback"))

    def impressions(self, timestamp: float | None = None) -> list[dict[str, Any]]:
        """One ``impression`` event per item, carrying what an off-policy estimate and the
        monitoring need (request, model, variant, position, propensity)."""
        return [self.event(i.item_id, "impression", timestamp) for i in self.items]

    def event(self, item_id: str, event: str = "click", timestamp: float | None = None) -> dict[str, Any]:
        """An event on one of these items (a click, a purchase), tied to this answer."""
        shown = next((i for i in self.items if i.item_id == item_id), None)
        out: dict[str, Any] = {"unit_id": self.user, "event": event, "item_id": item_id,
                               "request_id": self.request_id, "model": self.model,
                               "variant": self.variant}
        if shown is not None:
            out.update(position=shown.position, propensity=shown.propensity)
        if timestamp is not None:
            out["timestamp"] = timestamp
        return {k: v for k, v in out.items() if v is not None}


@dataclass(frozen=True)
class CreativeChoice:
    """The creative to show at a campaign's placement, with what its events need. Send
    :meth:`impression` when it is shown, :meth:`click` (or :meth:`event` with
    ``"purchase"``) when it works: each carries an ``id`` made from the request id, so
    a retried event is stored once."""

    creative_id: str
    asset_id: str | None
    url: str | None
    factors: dict[str, str]
    policy: str
    propensity: float
    request_id: str
    user: str | None = None
    fallback: str | None = None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> CreativeChoice:
        return cls(creative_id=str(data["creative_id"]), asset_id=data.get("asset_id"),
                   url=data.get("url"), factors=dict(data.get("factors") or {}),
                   policy=str(data["policy"]), propensity=float(data["propensity"]),
                   request_id=str(data["request_id"]), user=data.get("user"),
                   fallback=data.get("fallback"))

    def event(self, event: str, timestamp: float | None = None) -> dict[str, Any]:
        """An event of this answer: model ``creative``, the creative as the variant."""
        out: dict[str, Any] = {"id": f"{self.request_id}:{event}"[:64],
                               "unit_id": self.user or self.request_id, "event": event,
                               "request_id": self.request_id, "model": "creative",
                               "variant": self.creative_id, "propensity": self.propensity}
        if timestamp is not None:
            out["timestamp"] = timestamp
        return out

    def impression(self, timestamp: float | None = None) -> dict[str, Any]:
        return self.event("impression", timestamp)

    def click(self, timestamp: float | None = None) -> dict[str, Any]:
        return self.event("click", timestamp)
