"""Which file a playback URL names, and its bytes: verify the token first, then the
path, then the asset's files (catalog through a TTL copy). The HTTP semantics on top
(validators, byte ranges) are the route's (``vitrina.api.routers.video``).

    check_token -> verify (the image service's keys: settings keys are the default
      project's, other ids the projects' keys) -> check_file -> the asset's files,
      refused as missing unless a video of the key's project -> the file, its type and
      how long caches may keep it -> bytes streamed from the blob store, counted for
      the project as they are sent
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from vitrina.delivery.paths import UNSIGNED
from vitrina.delivery.playback.files import AssetFiles, PlaybackFiles, StoredFile
from vitrina.delivery.playback.tokens import check_file, check_token, content_type, signed_part
from vitrina.delivery.service import ImageService
from vitrina.errors import NotFound
from vitrina.ids import ASSET_ID
from vitrina.projects.usage import VIDEO_BYTES_SERVED, UsageMeter
from vitrina.storage.blobs import BlobStore

YEAR = 31_536_000
#: playlists may be remade by a later ladder; segments and files never change under a tag
PLAYLIST_MAX_AGE = 60


@dataclass(frozen=True)
class Resolved:
    """The file a verified URL names."""

    file: StoredFile
    project: str
    content_type: str
    cache_control: str


class PlaybackService:
    def __init__(self, images: ImageService, files: PlaybackFiles, store: BlobStore,
                 usage: UsageMeter | None = None, clock: Callable[[], float] = time.time) -> None:
        """``images`` verifies tokens with its signing keys, so video and image URLs follow
        one set of key rules (decision 011) and one cache of the projects' keys."""
        self.images, self.files, self.store, self.usage, self.clock = images, files, store, usage, clock

    async def resolve(self, token: str, asset_id: str, path: str) -> Resolved:
        """The file ``/video/{token}/{asset_id}/{path}`` names; raises VitrinaError: 403
        before anything but the token's shape is looked at, then 404 ``not_found`` (no
        such video in the key's project) or ``file_not_found`` (a path no file has)."""
        check_token(token)
        project, _ = await self.images.verify(token, signed_part(asset_id))
        if not ASSET_ID.fullmatch(asset_id):
            raise _no_video(asset_id)
        check_file(path)
        found: AssetFiles | None = await asyncio.to_thread(self.files.get, asset_id, path)
        if found is None or found.project_id != project:  # another project's: as missing
            raise _no_video(asset_id)
        stored = found.files.get(path)
        if stored is None:
            raise NotFound("No such file for this video.", code="file_not_found", details={"path": path})
        return Resolved(stored, project, content_type(path), self._cache_control(token, path))

    async def open(self, resolved: Resolved, start: int, end: int) -> Iterator[bytes]:
        """Bytes ``[start, end)`` of the file, streamed (never read whole); what is sent
        is added to the project's usage when the stream ends, so a player that hangs up
        mid-segment is charged for what it got."""
        try:
            chunks = await asyncio.to_thread(self.store.open_range, resolved.file.blob_key, start, end)
        except NotFound:  # a row whose blob is gone: the file is missing, not the server
            raise NotFound("No such file for this video.", code="file_not_found") from None
        return self._counted(chunks, resolved.project)

    def _cache_control(self, token: str, path: str) -> str:
        """Never fresh past the token's expiry: a cache must not serve an expired URL."""
        left = math.inf if token == UNSIGNED else int(token.split(".")[1]) - self.clock()
        if path.endswith(".m3u8"):
            return f"public, max-age={max(0, int(min(PLAYLIST_MAX_AGE, left)))}"
        return f"public, max-age={max(0, int(min(YEAR, left)))}, immutable"

    def _counted(self, chunks: Iterator[bytes], project: str) -> Iterator[bytes]:
        total = 0
        try:
            for chunk in chunks:
                yield chunk
                total += len(chunk)
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()
            if self.usage is not None and total:
                self.usage.add(project, VIDEO_BYTES_SERVED, total)


def _no_video(asset_id: str) -> NotFound:
    return NotFound("No video has this id.", details={"asset_id": asset_id[:64]})
