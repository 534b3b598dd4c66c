"""The image service: from a request path to a ready answer, when the in-memory cache
had none (the route's miss path).

    parse_path -> verify the signature (first; the key names its project) -> parse_ops
      -> check_limits -> asset records (TTL cache; catalog in a thread), refused as
      missing unless of the key's project -> choose_format -> cache key
      -> single-flight per key: blob cache, else a place in the render pool -> transform
      -> blob cache -> Prepared (headers, ETag) -> in-memory cache

With ``delivery_cache`` off every request does the work: no blob cache, no memory
cache and no single-flight (sharing one render between concurrent requests is a
cache too).

The settings' signing keys are the default project's and verify with no catalog read;
other projects' keys come from the catalog through :class:`ProjectKeys` (a TTL
cache), only for URLs that name a key id the settings do not hold. An answer kept in
memory for such a key is trusted no longer than the key set it was verified with.
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from vitrina.assets.repository import AssetRepository
from vitrina.config import Settings
from vitrina.delivery.cache import (
    NEGOTIATED,
    MemoryCache,
    Prepared,
    blob_key,
    cache_key,
    etag_matches,
)
from vitrina.delivery.configured import limits_from, signer_from
from vitrina.delivery.flight import SingleFlight
from vitrina.delivery.grammar import canonical, parse_ops
from vitrina.delivery.limiter import Limiter, TooBusy
from vitrina.delivery.limits import check_limits
from vitrina.delivery.negotiate import MIME, choose_format
from vitrina.delivery.ops import GRAVITY_MODES, Ops
from vitrina.delivery.paths import UNSIGNED, parse_path
from vitrina.delivery.signing import Signer, signing_key_id
from vitrina.delivery.sources import AssetSources, KeySet, ProjectKeys, SourceRecord
from vitrina.delivery.stats import DeliveryStats
from vitrina.errors import NotFound, Unavailable
from vitrina.media.transform import Rendered, transform
from vitrina.projects.service import SigningKey
from vitrina.projects.usage import RENDERS
from vitrina.storage.blobs import BlobStore
from vitrina.storage.catalog.projects import DEFAULT_PROJECT

if TYPE_CHECKING:
    from vitrina.projects.quotas import QuotaService
    from vitrina.projects.usage import UsageMeter

log = logging.getLogger("vitrina.delivery")
T = TypeVar("T")
CACHE_CONTROL = b"public, max-age=31536000, immutable"
IO_THREADS = 4
MAX_PARSED = 4096  # ops strings whose parse is remembered


@dataclass(frozen=True)
class _Job:
    record: SourceRecord
    ops: Ops
    fmt: str
    overlays: Mapping[str, SourceRecord]
    key: str


class ImageService:
    def __init__(
        self,
        settings: Settings,
        assets: AssetRepository,
        store: BlobStore,
        kinds: frozenset[str],
        *,
        clock: Callable[[], float] = time.time,
        signing_keys: Callable[[], list[SigningKey]] | None = None,
        quotas: QuotaService | None = None,
        usage: UsageMeter | None = None,
    ) -> None:
        """``kinds``: the media kinds whose originals the engine transforms; ``quotas``
        limits each project's renders per minute, ``usage`` counts its renders and bytes."""
        self.clock = clock  # wall clock; tests may replace it
        self.quotas, self.usage = quotas, usage
        self.presets = dict(settings.delivery.presets)
        self.limits = limits_from(settings)
        self.allow_unsigned = settings.dev
        if signing_keys is None:  # the projects' keys, from the catalog the assets are in
            from vitrina.projects.service import ProjectService

            signing_keys = ProjectService(assets.sessions).active_signing_keys
        self.project_keys = ProjectKeys(signing_keys, settings.delivery.signing_keys_ttl_seconds,
                                        lambda: self.clock())
        self._key_reads: SingleFlight[KeySet] = SingleFlight()
        self.use_signer(signer_from(settings), settings.signing.keys)
        self.ttl = settings.delivery.asset_ttl_seconds
        self.sources = AssetSources(assets, store, self.ttl, lambda: self.clock(), kinds)
        self.store = store
        self.cache_enabled = settings.delivery.cache
        self.memory = (
            MemoryCache(settings.delivery.memory_bytes, settings.delivery.memory_item_bytes)
            if settings.delivery.cache and settings.delivery.memory_bytes > 0
            else None
        )
        workers = settings.delivery.max_concurrency or 2 * (os.cpu_count() or 1)
        # ``workers`` renders run and ``max_queue`` more wait, in the render pool's own
        # queue: a thread that finishes a render takes the next one at once, with no trip
        # through the event loop in between. The limiter only admits (or answers 503).
        self.limiter = Limiter(workers + settings.delivery.max_queue, 0)
        self.stats = DeliveryStats()
        self._renders: SingleFlight[bytes] = SingleFlight()
        self._lookups: SingleFlight[SourceRecord | None] = SingleFlight()
        self._workers = workers
        self._pools: dict[str, ThreadPoolExecutor] = {}  # made on first use, again after close
        self._parsed: dict[str, tuple[Ops, str]] = {}  # ops text -> (ops, canonical form)

    def use_signer(self, signer: Signer, keys: Mapping[str, Any]) -> None:
        """Verify the default project's URLs with ``signer`` (over ``keys``) from now on;
        answers cached under a key id no longer in ``keys`` stop being served from
        memory at once."""
        self.signer = signer
        self.static_key_ids = frozenset(keys)
        self.project_keys.reserved = self.static_key_ids
        self._update_key_ids()

    def _update_key_ids(self) -> None:
        """The key ids whose answers the memory cache may serve: the settings', the
        projects' as last read, and ``_`` in development mode."""
        self.key_ids = (self.static_key_ids | frozenset(self.project_keys.current.projects)
                        | ({UNSIGNED} if self.allow_unsigned else frozenset()))

    # --- the miss path -------------------------------------------------------------------
    async def answer(
        self, raw_path: str, accept: str | None, if_none_match: bytes | None = None
    ) -> tuple[Prepared, bool]:
        """The answer for ``raw_path`` (still percent-encoded) and whether it depends on
        ``Accept``; raises VitrinaError (403 before anything but the path is parsed).

        When ``if_none_match`` names the result's ETag the answer has no body (a 304):
        the key is known before the image, so revalidations cost no read or render."""
        path = parse_path(raw_path)
        project, keys_until = await self.verify(path.signature, path.signed_part)
        ops, canonical_ops = self._parse(path.ops)
        record = await self._record(path.asset_id, project)
        overlays: dict[str, SourceRecord] = {}
        for overlay in ops.l:
            if overlay.asset not in overlays:
                overlays[overlay.asset] = await self._record(overlay.asset, project, overlay=True)
        fmt, negotiated = choose_format(ops, accept, record.has_alpha, record.format)
        focal = ops.c in GRAVITY_MODES and ops.g in ("auto", "face")
        key = cache_key(record.sha256, canonical_ops, fmt, record.focus_tag if focal else "")
        loaded = min([record.loaded_at, *(r.loaded_at for r in overlays.values())])
        key_id, expires = _signature_facts(path.signature)
        valid_until = min(loaded + self.ttl, keys_until, math.inf if expires is None else expires)
        if if_none_match is not None and etag_matches(if_none_match, _etag(key)):
            return _prepare(b"", fmt, key, negotiated, key_id, valid_until, project), negotiated
        job = _Job(record, ops, fmt, overlays, key)
        if self.cache_enabled:
            body = await self._renders.run(key, lambda: self._cached_or_rendered(job))
        else:
            body = await self._render(job)
        return _prepare(body, fmt, key, negotiated, key_id, valid_until, project), negotiated

    def remember(
        self, raw: bytes, accept: bytes | None, answer: Prepared, negotiated: bool
    ) -> None:
        """Keep ``answer`` in memory under the request path (and Accept bucket)."""
        if self.memory is None or answer.valid_until <= self.clock():
            return
        if negotiated:
            self.memory.put(raw, NEGOTIATED)
            self.memory.put(raw + self.memory.bucket(accept), answer)
        else:
            self.memory.put(raw, answer)

    def _parse(self, text: str) -> tuple[Ops, str]:
        """Parsed, checked and canonical ops of a (verified) ops segment, remembered: a
        hot URL is parsed once. Refusals are never remembered."""
        found = self._parsed.get(text)
        if found is None:
            ops = parse_ops(text, self.presets)
            check_limits(ops, self.limits)
            if len(self._parsed) >= MAX_PARSED:
                self._parsed.clear()
            found = self._parsed[text] = (ops, canonical(ops))
        return found

    async def verify(self, signature: str, signed_part: str) -> tuple[str, float]:
        """(the project whose key signed, until when that may be trusted), or 403 as
        :meth:`Signer.verify` says. The settings' keys (and ``_``) are the default
        project's; any other key id is looked up among the projects' keys, read again
        when they are older than their TTL (or than a second, for an id they lack)."""
        key_id = signing_key_id(signature)
        if key_id is not None and key_id not in self.static_key_ids:
            if not self.project_keys.fresh(key_id):
                await self._key_reads.run("keys", self._read_keys)
            keys = self.project_keys.current
            if keys.signer is not None and keys.signer.holds(key_id):
                keys.signer.verify(signature, signed_part, self.clock())
                return keys.projects[key_id], keys.loaded_at + self.project_keys.ttl
        self.signer.verify(signature, signed_part, self.clock())  # unknown_key for the rest
        return DEFAULT_PROJECT, math.inf

    async def _read_keys(self) -> KeySet:
        try:
            keys = await self._io(self.project_keys.read)
        except Exception:
            log.warning("could not read the projects' signing keys", exc_info=True)
            raise Unavailable("The image server cannot check this URL's key now; "
                              "retry shortly.") from None
        self.project_keys.remember(keys)
        self._update_key_ids()
        return keys

    async def _record(self, asset_id: str, project: str, *, overlay: bool = False) -> SourceRecord:
        """The asset's record; 404 when there is none or it is another project's than
        ``project`` (the signing key's), the same answer for both."""
        known, record = self.sources.fresh(asset_id)
        if not known:
            record = await self._lookups.run(asset_id, lambda: self._load(asset_id))
        if record is None or record.project_id != project:
            if overlay:
                raise NotFound("The overlay asset does not exist or is not an image.",
                               details={"op": "l", "asset_id": asset_id})  # fmt: skip
            raise NotFound("No image has this id.", details={"asset_id": asset_id})
        return record

    async def _load(self, asset_id: str) -> SourceRecord | None:
        record = await self._io(self.sources.read, asset_id)
        self.sources.remember(asset_id, record)
        return record

    async def _cached_or_rendered(self, job: _Job) -> bytes:
        key = blob_key(job.record.sha256, job.key, job.fmt)
        data = await self._io(self._read_cached, key)
        if data is not None:
            self.stats.blob_hits += 1
            return data
        data = await self._render(job)
        try:
            await self._io(self.store.put_bytes, key, data, durable=False)
        except Exception:  # a result we cannot keep is still a result
            log.warning("could not store %s in the result cache", key, exc_info=True)
        return data

    def _read_cached(self, key: str) -> bytes | None:
        try:
            return self.store.read_bytes(key)
        except NotFound:
            return None
        except Exception:  # an unreachable cache is a miss, not an error
            log.warning("could not read %s from the result cache", key, exc_info=True)
            return None

    async def _render(self, job: _Job) -> bytes:
        project = job.record.project_id
        if self.quotas is not None:  # the project's render rate, before any work
            limits = self.quotas.cached(project)
            if limits is None or limits.renders_per_minute:
                await self._io(self.quotas.take_render, project)
        try:
            await self.limiter.acquire()  # a place at once, or 503: it never waits
        except TooBusy:
            self.stats.too_busy += 1
            running, waiting = self._occupancy()
            raise TooBusy("The image server is busy; retry shortly.",
                          details={"running": running, "waiting": waiting}) from None  # fmt: skip
        self.stats.renders += 1
        if self.usage is not None:
            self.usage.add(project, RENDERS)
        loop = asyncio.get_running_loop()
        try:
            done = self._pool("render", self._workers).submit(self._transform, job)
        except BaseException:
            self.limiter.release()
            raise
        # the place is freed when the thread is done, even if the request went away (a
        # job still queued is cancelled with its request: wrap_future passes that on)
        done.add_done_callback(lambda _: _call_soon(loop, self.limiter.release))
        rendered: Rendered = await asyncio.wrap_future(done)
        return rendered.data

    def _transform(self, job: _Job) -> Rendered:
        source = self.sources.open(job.record)
        overlays = {asset: self.sources.open(r) for asset, r in job.overlays.items()}
        return transform(source, job.ops, job.fmt, focus=job.record.focus, overlays=overlays,
                         limits=self.limits, size=job.record.size,
                         proxies=self.sources.proxies(job.record))  # fmt: skip

    async def _io(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        future: Future[T] = self._pool("io", IO_THREADS).submit(fn, *args, **kwargs)
        return await asyncio.wrap_future(future)

    def _occupancy(self) -> tuple[int, int]:
        """(renders running, renders waiting for a thread)."""
        admitted = self.limiter.active
        return min(admitted, self._workers), max(0, admitted - self._workers)

    def gauges(self) -> dict[str, float]:
        running, waiting = self._occupancy()
        return {
            "transformations_running": running,
            "transformations_waiting": waiting,
            "memory_cache_bytes": self.memory.size if self.memory else 0,
        }

    def _pool(self, name: str, threads: int) -> ThreadPoolExecutor:
        pool = self._pools.get(name)
        if pool is None:
            pool = ThreadPoolExecutor(threads, thread_name_prefix=f"vitrina-img-{name}")
            self._pools[name] = pool
        return pool

    def close(self) -> None:
        for pool in self._pools.values():
            pool.shutdown(wait=False, cancel_futures=True)
        self._pools.clear()


def _prepare(body: bytes, fmt: str, key: str, negotiated: bool, key_id: str,
             valid_until: float, project: str) -> Prepared:  # fmt: skip
    etag = _etag(key)
    common = [(b"etag", etag), (b"cache-control", CACHE_CONTROL)]
    if negotiated:
        common.append((b"vary", b"Accept"))
    headers = [
        (b"content-type", MIME[fmt].encode()),
        (b"content-length", str(len(body)).encode()),
        (b"x-content-type-options", b"nosniff"),
        *common,
    ]
    return Prepared(body, headers, common, etag, key_id, valid_until, project)


def _etag(key: str) -> bytes:
    return f'"{key}"'.encode()


def _signature_facts(signature: str) -> tuple[str, int | None]:
    """(key id, expiry) of a verified signature segment; ``_`` for unsigned."""
    if signature == UNSIGNED:
        return UNSIGNED, None
    parts = signature.split(".")
    return parts[0], int(parts[1]) if len(parts) == 3 else None


def _call_soon(loop: asyncio.AbstractEventLoop, fn: Callable[[], None]) -> None:
    try:
        loop.call_soon_threadsafe(fn)
    except RuntimeError:  # the loop is gone (shutdown): nobody waits for the slot
        pass
