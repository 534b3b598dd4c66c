"""The asset service: what the API, the CLI and image delivery do with assets.

Ingest lives in :mod:`vitrina.pipeline.ingest` (it stages, checks and stores uploads);
everything else about an asset that exists goes through here. Every call names the
caller's project and sees only that project's assets: another project's id answers
exactly as a missing one does. Originals are stored once across projects and removed
when no asset of any project references them (:meth:`AssetService.collect`).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from vitrina.assets.metadata import merged, normalise_tag, parse_patch
from vitrina.assets.records import MAX_PAGE, AssetPage, AssetRecord, Download
from vitrina.assets.repository import AssetRepository
from vitrina.assets.states import AssetStatus
from vitrina.delivery.cache import results_prefix
from vitrina.errors import InvalidInput, NotFound
from vitrina.ids import is_id
from vitrina.storage.blobs import BlobStore


class AssetService:
    def __init__(self, repository: AssetRepository, store: BlobStore) -> None:
        self.repository = repository
        self.store = store

    def get(self, project: str, asset_id: str) -> AssetRecord:
        """The project's asset; NotFound for an unknown id, another project's, or one
        that cannot be an id, all alike."""
        record = self.repository.get(project, asset_id) if is_id(asset_id) else None
        if record is None:
            raise _no_asset(asset_id)
        return record

    def first_pages(self, project: str, collections: list[str], *, limit: int = 50) -> dict[str, AssetPage]:
        """The first page of each of ``collections`` (ids of the project's: the caller
        checks), as :meth:`list` with ``collection`` gives it, in a fixed number of
        statements however many collections (a screen listing collections with their
        newest assets)."""
        if not 1 <= limit <= MAX_PAGE:
            raise InvalidInput(f"limit must be between 1 and {MAX_PAGE}", details={"limit": limit})
        return self.repository.first_pages(project, collections, limit)

    def get_many(self, project: str, asset_ids: list[str]) -> tuple[AssetRecord, ...]:
        """The project's assets among ``asset_ids``, in that order; the others are left out."""
        return self.repository.get_many(project, [i for i in asset_ids if is_id(i)])

    def list(
        self,
        project: str,
        *,
        status: AssetStatus | None = None,
        kind: str | None = None,
        mime: str | None = None,
        collection: str | None = None,
        tag: str | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> AssetPage:
        """Newest first; pass a page's ``next_cursor`` back as ``cursor`` for the next.
        ``collection`` must be an id of the project's (the caller checks: see
        :meth:`CollectionService.get`); ``tag`` matches user tags as they are normalised."""
        if not 1 <= limit <= MAX_PAGE:
            raise InvalidInput(f"limit must be between 1 and {MAX_PAGE}", details={"limit": limit})
        return self.repository.page(project, status=status, kind=kind, mime=mime, collection=collection,
                                    tag=None if tag is None else normalise_tag(tag), limit=limit, cursor=cursor)

    def update_metadata(self, project: str, asset_id: str, body: Any) -> AssetRecord:
        """Apply a PATCH body (title, alt_text, tags, fields; decision 022) to the asset;
        ``invalid_metadata`` before anything is written if the body breaks a rule."""
        patch = parse_patch(body)
        record = (self.repository.update_metadata(project, asset_id, lambda current: merged(current, patch), _now())
                  if is_id(asset_id) else None)
        if record is None:
            raise _no_asset(asset_id)
        return record

    def delete(self, project: str, asset_id: str) -> AssetRecord:
        """Remove the asset: its rows first (one transaction), then its derivatives, then
        its original if no other asset (of any project) uses it. A crash in between
        leaves unreferenced files, which idle workers collect, never a row whose file is
        gone."""
        record = self.repository.delete(project, asset_id) if is_id(asset_id) else None
        if record is None:
            raise _no_asset(asset_id)
        for d in record.derivatives:
            self.store.delete(d.blob_key)
        self.collect(record.sha256)
        return record

    def collect(self, sha256: str) -> bool:
        """Remove an original's bytes and its cached image results if nothing references
        it and no upload is about to; whether it was removed."""
        def remove(blob_key: str) -> None:
            for key in list(self.store.keys(results_prefix(sha256))):  # /img results
                self.store.delete(key)
            self.store.delete(blob_key)

        return self.repository.collect(sha256, _now(), remove)

    def collect_unreferenced(self, limit: int = 100) -> int:
        """Collect originals left without assets (deletes that crashed half-way, uploads
        abandoned after storing bytes); how many were removed."""
        return sum(self.collect(sha256) for sha256 in self.repository.unreferenced(_now(), limit))

    def original(self, project: str, asset_id: str) -> Download:
        """The original as uploaded."""
        a = self.get(project, asset_id)
        return Download(a.blob_key, a.size_bytes, a.mime, a.sha256)

    def derivative(self, project: str, asset_id: str, name: str) -> Download:
        """One derivative by its name (``320.webp``); NotFound lists the available ones."""
        a = self.get(project, asset_id)
        for d in a.derivatives:
            if d.name == name:
                return Download(d.blob_key, d.size_bytes, d.mime,
                                f"{a.sha256[:32]}-{d.width}-{d.format}-{d.version}")
        raise NotFound(f"asset {a.id} has no derivative {name[:40]!r}",
                       details={"available": [d.name for d in a.derivatives]})

    def open(self, download: Download, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        """Its bytes ``[start, end)``, streamed."""
        return self.store.open_range(download.blob_key, start, end)


def _now() -> datetime:
    return datetime.now(UTC)


def _no_asset(asset_id: str) -> NotFound:
    shown = asset_id[:64]
    return NotFound(f"no asset {shown!r}", details={"id": shown})
