"""The synchronous client: one method per REST call, typed results, typed errors."""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime
from typing import Any

from vitrina.client.discovery import DiscoveryCalls
from vitrina.client.errors import AssetFailedError, WaitTimeoutError
from vitrina.client.models import (
    Asset,
    AssetPage,
    Collection,
    CollectionPage,
    Derivative,
    SearchHit,
    SearchPage,
    SimilarResult,
    UploadResult,
)
from vitrina.client.paths import asset_path, collection_path, iso, query, segment
from vitrina.client.resumable import (
    CHUNK_SIZE,
    RESUMABLE_THRESHOLD,
    Progress,
    ResumableUpload,
    size_of,
)
from vitrina.client.transfer import (
    Destination,
    Source,
    body_chunks,
    open_source,
    range_header,
    save,
)
from vitrina.client.webhooks import WebhookCalls


class _Unset:
    """The default of an argument where None means "clear it"."""

    def __repr__(self) -> str:
        return "UNSET"


UNSET = _Unset()


class Client(DiscoveryCalls, WebhookCalls):
    """A Vitrina server at ``base_url``; ``api_key`` (``vk_...``) is needed outside development mode.

    ``transport`` is handed to httpx (e.g. ``httpx.MockTransport`` in tests, or one with
    retries). Use as a context manager, or call :meth:`close`. The connection, health
    and plumbing are :class:`~vitrina.client.connection.Connection`'s; the discovery and
    creative calls :class:`~vitrina.client.discovery.DiscoveryCalls`'; the webhook calls
    :class:`~vitrina.client.webhooks.WebhookCalls`'.
    """

    # --- image URLs -----------------------------------------------------------------------
    def image_url(self, asset_id: str, ops: str = "-", *, expires_in: float | None = None) -> str:
        """A signed ``/img/...`` URL (made locally, no request); unsigned without signing_keys."""
        return self.images.url(asset_id, ops, expires_in=expires_in)

    def srcset(self, asset_id: str, ops: str, widths: Iterable[int], *,
               expires_in: float | None = None) -> str:
        """A ``srcset`` value: ``ops`` at each of ``widths``, the aspect ratio kept."""
        return self.images.srcset(asset_id, ops, widths, expires_in=expires_in)

    def video_url(self, asset_id: str, path: str = "hls/master.m3u8", *,
                  expires_in: float | None = None) -> str:
        """A signed ``/video/...`` URL of one of a video's files (made locally, no
        request): the HLS master playlist by default, or ``h720w1280.mp4``,
        ``storyboard/storyboard.vtt``...; valid ``expires_in`` seconds (a day)."""
        return self.images.video_url(asset_id, path, expires_in=expires_in)

    # --- assets ---------------------------------------------------------------------------
    def upload(self, file: Source, *, filename: str | None = None, idempotency_key: str | None = None,
               progress: Progress | None = None, resumable_threshold: int | None = RESUMABLE_THRESHOLD,
               chunk_size: int = CHUNK_SIZE) -> UploadResult:
        """Upload a path or a binary file object, streamed in chunks (never read whole).

        A file object is sent from its start. ``created`` is False when the server
        already had the same bytes (or this ``idempotency_key``) and returned the existing
        asset. A file of at least ``resumable_threshold`` bytes whose size is known (a path,
        a file on disk) goes through ``/v1/uploads`` (tus) in ``chunk_size`` pieces, each
        checked by sha1 and resumed from the server's offset if the connection drops;
        ``None`` never does. ``progress(sent, total)`` is called as bytes are acknowledged.
        """
        with open_source(file) as (fh, default_name):
            name = filename or default_name
            total = size_of(fh)
            if total is not None and resumable_threshold is not None and total >= resumable_threshold:
                upload = ResumableUpload(self._request, fh, total, filename=name, idempotency_key=idempotency_key,
                                         chunk_size=chunk_size, progress=progress)
                asset_id, created = upload.run()
                return UploadResult(asset=self.get(asset_id), created=created)
            headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
            # the server decides the type from the bytes, so no guessing from the name here
            part = (name, fh, "application/octet-stream")
            response = self._request("POST", "/v1/assets", files={"file": part}, headers=headers)
        result = UploadResult(asset=self._parse(Asset.from_json, response), created=response.status_code == 201)
        if progress is not None:
            progress(result.asset.size_bytes, result.asset.size_bytes)
        return result

    def get(self, asset_id: str) -> Asset:
        return self._parse(Asset.from_json, self._request("GET", asset_path(asset_id)))

    def list(self, *, status: str | None = None, kind: str | None = None, mime: str | None = None,
             collection: str | None = None, tag: str | None = None,
             limit: int = 50, cursor: str | None = None) -> AssetPage:
        """One page, newest first; filters: status (pending|processing|ready|failed), kind,
        mime, collection (an id), tag (a user tag)."""
        params = query(status=status, kind=kind, mime=mime, collection=collection, tag=tag,
                       limit=limit, cursor=cursor)
        return self._parse(AssetPage.from_json, self._request("GET", "/v1/assets", params=params))

    def update_asset(self, asset_id: str, *, title: str | None | _Unset = UNSET,
                     alt_text: str | None | _Unset = UNSET, tags: Iterable[str] | None = None,
                     fields: Mapping[str, str | int | float | bool | None] | None = None) -> Asset:
        """Edit the asset's user metadata; what is not passed stays. ``title=None`` or
        ``alt_text=None`` clears it, ``tags`` replaces the user's tags, ``fields`` is merged
        (a None value deletes that key). ``invalid_metadata`` names what the server refused."""
        body: dict[str, Any] = {}
        if not isinstance(title, _Unset):
            body["title"] = title
        if not isinstance(alt_text, _Unset):
            body["alt_text"] = alt_text
        if tags is not None:
            body["tags"] = list(tags)
        if fields is not None:
            body["fields"] = dict(fields)
        return self._parse(Asset.from_json, self._request("PATCH", asset_path(asset_id), json=body))

    def iter_assets(self, *, status: str | None = None, kind: str | None = None,
                    mime: str | None = None, limit: int = 100) -> Iterator[Asset]:
        """Every matching asset, following cursors page by page (``limit`` per page)."""
        cursor: str | None = None
        while True:
            page = self.list(status=status, kind=kind, mime=mime, limit=limit, cursor=cursor)
            yield from page.items
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    def delete(self, asset_id: str) -> None:
        self._request("DELETE", asset_path(asset_id))

    def wait_until_ready(self, asset_id: str, *, timeout: float = 30.0, poll: float = 0.2) -> Asset:
        """Poll until the asset is ready; AssetFailedError if it failed, WaitTimeoutError if too slow."""
        deadline = time.monotonic() + timeout
        while True:
            asset = self.get(asset_id)
            if asset.status == "ready":
                return asset
            if asset.status == "failed":
                raise AssetFailedError(asset)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise WaitTimeoutError(asset, timeout)
            time.sleep(min(poll, remaining))

    # --- search ---------------------------------------------------------------------------
    def search(self, q: str | None = None, *, color: str | None = None, color_tolerance: float | None = None,
               kind: str | None = None, tag: str | None = None, collection: str | None = None,
               min_width: int | None = None, max_width: int | None = None, min_height: int | None = None,
               max_height: int | None = None, created_after: str | datetime | None = None,
               created_before: str | datetime | None = None, limit: int = 20,
               cursor: str | None = None) -> SearchPage:
        """One page of a hybrid search, best first: words ``q`` (titles, alt text, tags, OCR
        text, text embeddings) and/or a ``color`` ("#rrggbb"), within the filters; neither:
        the filtered assets, newest first. Each hit's ``explain`` says why it was found."""
        params = query(q=q, color=color, color_tolerance=color_tolerance, kind=kind, tag=tag,
                       collection=collection, min_width=min_width, max_width=max_width,
                       min_height=min_height, max_height=max_height, created_after=iso(created_after),
                       created_before=iso(created_before), limit=limit, cursor=cursor)
        return self._parse(SearchPage.from_json, self._request("GET", "/v1/search", params=params))

    def iter_search(self, q: str | None = None, *, limit: int = 100, **filters: Any) -> Iterator[SearchHit]:
        """Every hit of :meth:`search`, following cursors page by page (``limit`` per page)."""
        cursor: str | None = None
        while True:
            page = self.search(q, limit=limit, cursor=cursor, **filters)
            yield from page.items
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    def similar(self, asset_id: str, *, by: str = "image", limit: int = 10) -> SimilarResult:
        """The project's assets most like this one by an embedding: ``image``, ``text`` or
        ``clip``; ``embedded`` is False while the asset has none yet."""
        return self._parse(SimilarResult.from_json, self._request(
            "GET", f"{asset_path(asset_id)}/similar", params={"by": by, "limit": limit}))

    # --- collections ----------------------------------------------------------------------
    def create_collection(self, name: str, description: str | None = None) -> Collection:
        """A new collection; ConflictError if the project has one of that name."""
        body = {"name": name, "description": description}
        return self._parse(Collection.from_json, self._request("POST", "/v1/collections", json=body))

    def collections(self, *, limit: int = 50, cursor: str | None = None) -> CollectionPage:
        """One page of the project's collections, newest first."""
        params = query(limit=limit, cursor=cursor)
        return self._parse(CollectionPage.from_json, self._request("GET", "/v1/collections", params=params))

    def get_collection(self, collection_id: str) -> Collection:
        return self._parse(Collection.from_json, self._request("GET", collection_path(collection_id)))

    def update_collection(self, collection_id: str, *, name: str | None = None,
                          description: str | None | _Unset = UNSET) -> Collection:
        """Rename it or change its description (None clears it); what is not passed stays."""
        body: dict[str, Any] = {} if name is None else {"name": name}
        if not isinstance(description, _Unset):
            body["description"] = description
        return self._parse(Collection.from_json,
                           self._request("PATCH", collection_path(collection_id), json=body))

    def delete_collection(self, collection_id: str) -> None:
        """Delete the collection; its assets stay."""
        self._request("DELETE", collection_path(collection_id))

    def add_to_collection(self, collection_id: str, asset_id: str) -> None:
        """Put the asset in the collection (already there: nothing changes)."""
        self._request("PUT", f"{collection_path(collection_id)}/assets/{segment(asset_id)}")

    def remove_from_collection(self, collection_id: str, asset_id: str) -> None:
        """Take the asset out of the collection (not in it: nothing changes)."""
        self._request("DELETE", f"{collection_path(collection_id)}/assets/{segment(asset_id)}")

    def collection_assets(self, collection_id: str, *, limit: int = 50, cursor: str | None = None) -> AssetPage:
        """One page of the collection's assets, newest first."""
        params = query(limit=limit, cursor=cursor)
        return self._parse(AssetPage.from_json,
                           self._request("GET", f"{collection_path(collection_id)}/assets", params=params))

    # --- bytes ----------------------------------------------------------------------------
    def download_original(self, asset_id: str, dest: Destination | None = None, *,
                          start: int | None = None, end: int | None = None) -> bytes | None:
        """The original bytes, or those in ``[start, end)``; streamed to ``dest`` when given.

        Returns the bytes when ``dest`` is None, else None. A path is written atomically
        (never left half-written); a whole download is checked against the asset's sha256.
        """
        span = range_header(start, end)
        headers = {"Range": span} if span else {}
        with self._stream("GET", f"{asset_path(asset_id)}/original", headers) as response:
            return save(body_chunks(response, start, end), dest)

    def download_derivative(self, derivative: Derivative) -> bytes:
        """A derivative's bytes, fetched from this client's server (not ``derivative.url``'s host)."""
        path = f"{asset_path(derivative.asset_id)}/derivatives/{segment(derivative.name)}"
        with self._stream("GET", path, {}) as response:
            return b"".join(response.iter_bytes())
