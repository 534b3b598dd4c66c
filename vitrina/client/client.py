"""The synchronous client: one method per REST call, typed results, typed errors."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from typing import Any, Self, TypeVar
from urllib.parse import quote

import httpx

from vitrina import __version__
from vitrina.client.errors import (
    AssetFailedError,
    ProtocolError,
    VitrinaConnectionError,
    WaitTimeoutError,
    error_from_response,
)
from vitrina.client.images import ImageURLs
from vitrina.client.models import (
    Asset,
    AssetPage,
    Collection,
    CollectionPage,
    CreativeChoice,
    Derivative,
    Health,
    Logged,
    Recommendations,
    SearchHit,
    SearchPage,
    SimilarResult,
    UploadResult,
    Upserted,
)
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

T = TypeVar("T")


class _Unset:
    """The default of an argument where None means "clear it"."""

    def __repr__(self) -> str:
        return "UNSET"


UNSET = _Unset()


class Client:
    """A Vitrina server at ``base_url``; ``api_key`` (``vk_...``) is needed outside development mode.

    ``transport`` is handed to httpx (e.g. ``httpx.MockTransport`` in tests, or one with
    retries). Use as a context manager, or call :meth:`close`.
    """

    def __init__(self, base_url: str, api_key: str | None = None, *, timeout: float = 30.0,
                 transport: httpx.BaseTransport | None = None,
                 signing_keys: Mapping[str, str] | None = None, signing_key_id: str | None = None,
                 image_presets: Mapping[str, str] | None = None) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise ValueError(f"base_url must start with http:// or https://, got {base_url!r}")
        self.base_url = base_url.rstrip("/")
        #: signed /img URLs (see :meth:`image_url`); keys as the server's VITRINA_SIGNING__KEYS
        self.images = ImageURLs(self.base_url, signing_keys, signing_key_id, image_presets)
        self.timeout = timeout
        headers = {"User-Agent": f"vitrina-python/{__version__}"}
        if api_key:
            headers["Authorization"] = f"Bearer {api_key}"
        # no redirects: following one to another host would hand it the API key
        self._http = httpx.Client(base_url=self.base_url, headers=headers, timeout=timeout,
                                  transport=transport, follow_redirects=False)

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
        return self._parse(Asset.from_json, self._request("GET", _asset_path(asset_id)))

    def list(self, *, status: str | None = None, kind: str | None = None, mime: str | None = None,
             collection: str | None = None, tag: str | None = None,
             limit: int = 50, cursor: str | None = None) -> AssetPage:
        """One page, newest first; filters: status (pending|processing|ready|failed), kind,
        mime, collection (an id), tag (a user tag)."""
        params = {k: v for k, v in (("status", status), ("kind", kind), ("mime", mime),
                                    ("collection", collection), ("tag", tag),
                                    ("limit", limit), ("cursor", cursor)) if v is not None}
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
        return self._parse(Asset.from_json, self._request("PATCH", _asset_path(asset_id), json=body))

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
        self._request("DELETE", _asset_path(asset_id))

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
        params = {"q": q, "color": color, "color_tolerance": color_tolerance, "kind": kind, "tag": tag,
                  "collection": collection, "min_width": min_width, "max_width": max_width,
                  "min_height": min_height, "max_height": max_height,
                  "created_after": _iso(created_after), "created_before": _iso(created_before),
                  "limit": limit, "cursor": cursor}
        return self._parse(SearchPage.from_json, self._request(
            "GET", "/v1/search", params={k: v for k, v in params.items() if v is not None}))

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
            "GET", f"{_asset_path(asset_id)}/similar", params={"by": by, "limit": limit}))

    # --- collections ----------------------------------------------------------------------
    def create_collection(self, name: str, description: str | None = None) -> Collection:
        """A new collection; ConflictError if the project has one of that name."""
        body = {"name": name, "description": description}
        return self._parse(Collection.from_json, self._request("POST", "/v1/collections", json=body))

    def collections(self, *, limit: int = 50, cursor: str | None = None) -> CollectionPage:
        """One page of the project's collections, newest first."""
        params = {k: v for k, v in (("limit", limit), ("cursor", cursor)) if v is not None}
        return self._parse(CollectionPage.from_json, self._request("GET", "/v1/collections", params=params))

    def get_collection(self, collection_id: str) -> Collection:
        return self._parse(Collection.from_json, self._request("GET", _collection_path(collection_id)))

    def update_collection(self, collection_id: str, *, name: str | None = None,
                          description: str | None | _Unset = UNSET) -> Collection:
        """Rename it or change its description (None clears it); what is not passed stays."""
        body: dict[str, Any] = {} if name is None else {"name": name}
        if not isinstance(description, _Unset):
            body["description"] = description
        return self._parse(Collection.from_json,
                           self._request("PATCH", _collection_path(collection_id), json=body))

    def delete_collection(self, collection_id: str) -> None:
        """Delete the collection; its assets stay."""
        self._request("DELETE", _collection_path(collection_id))

    def add_to_collection(self, collection_id: str, asset_id: str) -> None:
        """Put the asset in the collection (already there: nothing changes)."""
        self._request("PUT", f"{_collection_path(collection_id)}/assets/{quote(asset_id, safe='')}")

    def remove_from_collection(self, collection_id: str, asset_id: str) -> None:
        """Take the asset out of the collection (not in it: nothing changes)."""
        self._request("DELETE", f"{_collection_path(collection_id)}/assets/{quote(asset_id, safe='')}")

    def collection_assets(self, collection_id: str, *, limit: int = 50, cursor: str | None = None) -> AssetPage:
        """One page of the collection's assets, newest first."""
        params = {k: v for k, v in (("limit", limit), ("cursor", cursor)) if v is not None}
        return self._parse(AssetPage.from_json,
                           self._request("GET", f"{_collection_path(collection_id)}/assets", params=params))

    # --- bytes ----------------------------------------------------------------------------
    def download_original(self, asset_id: str, dest: Destination | None = None, *,
                          start: int | None = None, end: int | None = None) -> bytes | None:
        """The original bytes, or those in ``[start, end)``; streamed to ``dest`` when given.

        Returns the bytes when ``dest`` is None, else None. A path is written atomically
        (never left half-written); a whole download is checked against the asset's sha256.
        """
        span = range_header(start, end)
        headers = {"Range": span} if span else {}
        with self._stream("GET", f"{_asset_path(asset_id)}/original", headers) as response:
            return save(body_chunks(response, start, end), dest)

    def download_derivative(self, derivative: Derivative) -> bytes:
        """A derivative's bytes, fetched from this client's server (not ``derivative.url``'s host)."""
        path = f"{_asset_path(derivative.asset_id)}/derivatives/{quote(derivative.name, safe='')}"
        with self._stream("GET", path, {}) as response:
            return b"".join(response.iter_bytes())

    # --- discovery ------------------------------------------------------------------------
    def put_items(self, items: Iterable[Mapping[str, Any]]) -> Upserted:
        """Create or update items (``id``, ``type``, ``title``, ``body``, ``attributes``,
        ``asset_ids``, ``active_from``, ``active_until``), up to 1,000 per call; an item sent
        again unchanged changes nothing."""
        return self._parse(Upserted.from_json, self._request("POST", "/v1/items", json=list(items)))

    def log_events(self, events: Iterable[Mapping[str, Any]]) -> Logged:
        """Store interaction events (up to 10,000 per call), all or none; give each an ``id``
        to make retries safe. See :meth:`Recommendations.impressions` for served lists."""
        return self._parse(Logged.from_json, self._request("POST", "/v1/events",
                                                           json={"events": list(events)}))

    def recommendations(self, user: str, *, k: int = 10, surface: str | None = None,
                        exclude_seen: bool = True, diversity: float | None = None,
                        freshness_days: float | None = None) -> Recommendations:
        """The ``k`` best items for ``user``, from the model the ``surface``'s experiment
        assigns (or the promoted one)."""
        params = {"user": user, "k": k, "surface": surface, "exclude_seen": str(exclude_seen).lower(),
                  "diversity": diversity, "freshness_days": freshness_days}
        return self._parse(Recommendations.from_json, self._request(
            "GET", "/v1/recommendations", params={k: v for k, v in params.items() if v is not None}))

    def similar_items(self, item_id: str, *, k: int = 10) -> Recommendations:
        """The ``k`` items nearest ``item_id`` by the promoted model."""
        return self._parse(Recommendations.from_json, self._request(
            "GET", f"/v1/items/{quote(item_id, safe='')}/similar", params={"k": k}))

    def creative(self, campaign: str, placement: str, *, user: str | None = None,
                 context: Mapping[str, str] | None = None) -> CreativeChoice:
        """The creative to show at ``placement`` of ``campaign``, chosen by the
        placement's policy for this ``context`` (e.g. ``{"device": "mobile"}``); log its
        :meth:`CreativeChoice.impression` and :meth:`CreativeChoice.click` with
        :meth:`log_events`."""
        params = {"user": user} if user is not None else {}
        params |= {f"context.{k}": v for k, v in (context or {}).items()}
        path = f"/v1/creatives/{quote(campaign, safe='')}/{quote(placement, safe='')}"
        return self._parse(CreativeChoice.from_json, self._request("GET", path, params=params))

    # --- operations -----------------------------------------------------------------------
    def health(self) -> Health:
        """``/readyz``: whether the server's catalog and blob store answer."""
        with self._network("GET /readyz"):
            response = self._http.get("/readyz")
        if response.status_code not in (200, 503):
            raise error_from_response(response)
        ok = response.status_code == 200
        return self._parse(lambda d: Health(ok=ok and d.get("status") == "ok",
                                            checks=dict(d.get("checks") or {})), response)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- plumbing -------------------------------------------------------------------------
    def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        with self._network(f"{method} {path}"):
            response = self._http.request(method, path, **kwargs)
        if response.status_code >= 400:
            raise error_from_response(response)
        return response

    @contextmanager
    def _stream(self, method: str, path: str, headers: Mapping[str, str]) -> Iterator[httpx.Response]:
        with self._network(f"{method} {path}"), self._http.stream(method, path, headers=headers) as response:
            if response.status_code >= 400:
                response.read()
                raise error_from_response(response)
            yield response

    @contextmanager
    def _network(self, what: str) -> Iterator[None]:
        try:
            yield
        except httpx.TimeoutException as exc:
            raise VitrinaConnectionError(
                f"{what}: no answer from {self.base_url} within {self.timeout:g}s; check that the "
                "server is up and not overloaded, or pass a larger timeout= to Client"
            ) from exc
        except httpx.TransportError as exc:
            raise VitrinaConnectionError(
                f"{what}: cannot talk to Vitrina at {self.base_url} ({type(exc).__name__}: {exc}); "
                "check base_url, that the server is running, and that the network lets you reach it"
            ) from exc

    def _parse(self, build: Callable[[Any], T], response: httpx.Response) -> T:
        try:
            return build(response.json())
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ProtocolError(
                f"{response.request.method} {response.request.url} answered {response.status_code} "
                f"with a body this SDK cannot read ({type(exc).__name__}: {exc}); is base_url a "
                "Vitrina server of a compatible version?"
            ) from exc


def _iso(value: str | datetime | None) -> str | None:
    return value.isoformat() if isinstance(value, datetime) else value


def _collection_path(collection_id: str) -> str:
    return f"/v1/collections/{quote(collection_id, safe='')}"


def _asset_path(asset_id: str) -> str:
    # quote everything: an id can never add path segments or a query
    return f"/v1/assets/{quote(asset_id, safe='')}"
