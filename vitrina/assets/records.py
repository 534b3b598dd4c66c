"""What callers read about assets: frozen snapshots of catalog rows, never live rows.

Each caller gets the shape it needs and no more: :class:`AssetRecord` for the API
and the CLI, :class:`AssetSnapshot` for a pipeline step, :class:`SourceFacts` for
image delivery.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

from vitrina.assets.metadata import UserMetadata
from vitrina.assets.states import AssetStatus, StepState


@dataclass(frozen=True, slots=True)
class DerivativeRecord:
    """One web derivative (a fixed width in one format) made by the pipeline."""

    width: int
    height: int
    format: str  # webp | jpeg | avif
    mime: str
    size_bytes: int
    blob_key: str
    version: str  # of the step that made it

    def path(self, asset_id: str) -> str:
        """Where it sits among the asset's files, e.g. ``hls/master.m3u8``: the path a
        playback URL names (``/video/{token}/{asset_id}/{path}``)."""
        return self.blob_key.removeprefix(f"derivatives/{asset_id}/")

    @property
    def name(self) -> str:
        """How URLs name it: ``320.webp``."""
        return f"{self.width}.{self.format}"


@dataclass(frozen=True, slots=True)
class SignalRecord:
    """An analysis result and the producer (name, version) that made it."""

    producer: str
    version: str
    value: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class StepRecord:
    """One step run of the asset's pipeline."""

    step: str
    version: str
    state: StepState
    attempts: int
    error_code: str | None  # stable, e.g. step_timeout
    error: str | None  # public message
    duration_ms: float | None
    started_at: datetime | None = None  # of the latest attempt
    progress: float | None = None  # of the latest attempt, 0 to 1, as last reported; 1 when done


@dataclass(frozen=True, slots=True)
class AssetRecord:
    """An asset with everything the catalog knows about it."""

    id: str
    kind: str  # image | video
    mime: str
    filename: str | None
    size_bytes: int
    sha256: str
    width: int | None  # upright; None until probed
    height: int | None
    status: AssetStatus
    error: str | None
    meta: Mapping[str, Any]  # the probe's result
    created_at: datetime
    updated_at: datetime
    blob_key: str  # the original's
    derivatives: tuple[DerivativeRecord, ...]  # by width, then format
    signals: Mapping[str, SignalRecord]  # by name
    steps: tuple[StepRecord, ...]  # in pipeline order
    metadata: UserMetadata = field(default_factory=UserMetadata)  # title, alt text, user tags, fields (decision 022)
    metadata_version: int = 0  # bumped by every change to ``metadata``
    metadata_updated_at: datetime | None = None


#: the most assets one page lists
MAX_PAGE = 500


@dataclass(frozen=True, slots=True)
class AssetPage:
    """One page of a listing, newest first; ``next_cursor`` asks for the next page
    (None on the last one)."""

    items: tuple[AssetRecord, ...]
    next_cursor: str | None


@dataclass(frozen=True, slots=True)
class AssetSnapshot:
    """What a pipeline step may know about its asset."""

    id: str
    project_id: str
    kind: str
    mime: str
    sha256: str
    blob_key: str
    width: int | None
    height: int | None
    meta: dict[str, Any]
    derivatives: tuple[DerivativeRecord, ...]  # in the order they were made
    #: what analysers of the asset's text read (decision 025): its user metadata, the
    #: version of it, and the signals stored so far
    metadata: UserMetadata = field(default_factory=UserMetadata)
    metadata_version: int = 0
    signals: Mapping[str, SignalRecord] = field(default_factory=dict)


class Rendition(NamedTuple):
    """A JPEG derivative: a smaller stand-in for the original when rendering."""

    width: int
    height: int
    blob_key: str


@dataclass(frozen=True, slots=True)
class SourceFacts:
    """What image delivery needs to render from an asset's original."""

    project_id: str
    kind: str
    mime: str
    sha256: str
    blob_key: str
    width: int | None
    height: int | None
    meta: Mapping[str, Any]
    focus: SignalRecord | None  # the stored faces and salient point, if analysed
    renditions: tuple[Rendition, ...]


@dataclass(frozen=True, slots=True)
class IdempotencyRecord:
    """The upload an ``Idempotency-Key`` was first used for."""

    sha256: str
    asset_id: str


@dataclass(frozen=True, slots=True)
class Download:
    """A stored file of an asset as served: where it is, its size, its type and a
    strong validator (the ``ETag`` without quotes)."""

    blob_key: str
    size_bytes: int
    mime: str
    etag: str
