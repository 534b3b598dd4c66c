"""Signed image URLs in the SDK, made by the server's own signing code
(:mod:`vitrina.delivery.signing`), so client and server agree on every canonical form.

That code is the URL contract: plain Python, no libvips. It is imported on first use
only, so a client that never makes image URLs loads nothing but httpx.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from typing import Any


class ImageURLs:
    """``/img/{signature}/{ops}/{asset_id}`` and ``/video/{token}/{asset_id}/{path}`` URLs
    under ``base_url``.

    With ``keys`` (key id -> secret, as in the server's ``VITRINA_SIGNING__KEYS``) URLs
    are signed with ``key_id`` (default: the first key); without keys they are
    unsigned (``_``), which only a development-mode server accepts.
    """

    def __init__(self, base_url: str, keys: Mapping[str, str] | None = None,
                 key_id: str | None = None, presets: Mapping[str, str] | None = None) -> None:  # fmt: skip
        self.base_url = base_url.rstrip("/")
        self._config = (dict(keys or {}), key_id, dict(presets or {}))
        self._signer: Any = None

    def url(self, asset_id: str, ops: str = "-", *, expires_in: float | None = None) -> str:
        """One signed URL; ``ops`` such as ``w_400,h_300,c_fill,f_auto`` (canonicalised);
        ``expires_in`` seconds from now, or never."""
        return self.base_url + self._call("url", asset_id, ops, _expiry(expires_in))

    def srcset(self, asset_id: str, ops: str, widths: Iterable[int], *,
               expires_in: float | None = None) -> str:  # fmt: skip
        """``url 320w, url 640w, ...``: ``ops`` at each width with its aspect ratio kept."""
        paths = self._call("srcset", asset_id, ops, list(widths), _expiry(expires_in))
        return ", ".join(self.base_url + item for item in paths.split(", "))

    def video_url(self, asset_id: str, path: str = "hls/master.m3u8", *,
                  expires_in: float | None = None) -> str:
        """``/video/{token}/{asset_id}/{path}``: one token covers every file of the video,
        so the playlists' relative URIs work; it lasts ``expires_in`` seconds (a day)."""
        from vitrina.delivery.playback.tokens import DEFAULT_LIFETIME, playback_path
        from vitrina.errors import VitrinaError

        lasts = DEFAULT_LIFETIME if expires_in is None else expires_in
        try:
            return self.base_url + playback_path(self._get_signer(), asset_id, path,
                                                 expires=int(time.time() + lasts))
        except VitrinaError as exc:
            raise ValueError(f"{exc.code}: {exc.message}") from None

    def _call(self, method: str, *args: Any) -> str:
        from vitrina.errors import VitrinaError

        try:
            return getattr(self._get_signer(), method)(*args)
        except VitrinaError as exc:
            raise ValueError(f"{exc.code}: {exc.message}") from None

    def _get_signer(self) -> Any:
        if self._signer is None:
            from vitrina.delivery.signing import Signer

            keys, key_id, presets = self._config
            self._signer = Signer(keys, key_id, presets=presets, allow_unsigned=not keys)
        return self._signer


def _expiry(expires_in: float | None) -> int | None:
    return None if expires_in is None else int(time.time() + expires_in)
