"""HMAC-SHA256 signatures for image URLs, with key rotation and optional expiry.

The signature segment is ``{key_id}.{mac}`` or ``{key_id}.{expires}.{mac}``
(``expires`` in Unix seconds), all URL-safe. The MAC covers the key id, the expiry
and ``{ops}/{asset_id}`` exactly as they stand in the URL, so it is checked before
anything in the URL is parsed; URLs built here always carry canonical ops.

A key belongs to one project (the settings' keys to the default project, the others
to the project that made them); :meth:`Signer.verify` answers which key signed, and
the image route serves only that key's project's assets.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Iterable, Mapping
from dataclasses import replace
from fractions import Fraction

from vitrina.delivery.errors import SignatureError
from vitrina.delivery.grammar import canonical, parse_ops
from vitrina.delivery.ops import Ops
from vitrina.delivery.paths import UNSIGNED, build_path
from vitrina.errors import ConfigError, InvalidInput
from vitrina.ids import ASSET_ID

MIN_KEY_BYTES = 16
_KEY_ID = re.compile(r"[A-Za-z0-9_-]{1,32}")
_EXPIRES = re.compile(r"\d{1,12}")
_MAC_LENGTH = 43  # base64url of 32 bytes, unpadded


class Signer:
    """Signs and verifies image paths with a set of keys; new URLs use ``current_key_id``.

    Keep an old key listed while URLs signed with it are still out there; remove it
    to revoke them all. ``allow_unsigned`` (development only) accepts the ``_``
    signature, and with no keys at all makes unsigned URLs.
    """

    def __init__(
        self,
        keys: Mapping[str, bytes | str],
        current_key_id: str | None = None,
        *,
        presets: Mapping[str, str] | None = None,
        allow_unsigned: bool = False,
    ) -> None:
        self._keys = {kid: _key_bytes(kid, key) for kid, key in keys.items()}
        if current_key_id is None and self._keys:
            current_key_id = next(iter(self._keys))
        if current_key_id is not None and current_key_id not in self._keys:
            raise ConfigError(f"signing key id {current_key_id!r} is not among the keys")
        if not self._keys and not allow_unsigned:
            raise ConfigError("URL signing needs at least one key outside development mode")
        self._current = current_key_id
        self._presets = dict(presets or {})
        self.allow_unsigned = allow_unsigned

    # --- making URLs ------------------------------------------------------------------
    def url(self, asset_id: str, ops: Ops | str = "", expires: int | None = None) -> str:
        """The full ``/img/{sig}/{ops}/{asset_id}`` path, ops in canonical form."""
        if not ASSET_ID.fullmatch(asset_id):
            raise InvalidInput("Not an asset id.", details={"asset_id": asset_id[:64]})
        # an Ops built by hand may not be normalised: its canonical form is re-read once
        text = canonical(parse_ops(ops if isinstance(ops, str) else canonical(ops), self._presets))
        return build_path(self.signature(f"{text}/{asset_id}", expires), text, asset_id)

    def sign_path(self, path: str, expires: int | None = None) -> str:
        """Sign ``{ops}/{asset_id}`` (ops canonicalised first); returns the full path."""
        ops, sep, asset_id = path.strip("/").rpartition("/")
        if not sep:
            raise InvalidInput("Expected {ops}/{asset_id}.", details={"path": path[:200]})
        return self.url(asset_id, ops, expires)

    def srcset(
        self, asset_id: str, ops: Ops | str, widths: Iterable[int], expires: int | None = None
    ) -> str:
        """``url 320w, url 640w, ...``: ``ops`` at each width, the aspect ratio kept."""
        base = ops if isinstance(ops, Ops) else parse_ops(ops, self._presets)
        if base.w is not None and base.h is not None:  # keep the shape as the width changes
            base = replace(base, ar=Fraction(base.w, base.h), h=None)
        elif base.h is not None:
            base = replace(base, h=None)
        chosen = sorted(set(widths))
        if not chosen or any(
            isinstance(w, bool) or not isinstance(w, int) or w < 1 for w in chosen
        ):
            raise InvalidInput("srcset widths must be positive integers.")
        items = [f"{self.url(asset_id, replace(base, w=w), expires)} {w}w" for w in chosen]
        return ", ".join(items)

    def signature(self, signed_part: str, expires: int | None = None) -> str:
        if self._current is None:
            return UNSIGNED
        exp = "" if expires is None else str(int(expires))
        mac = _mac(self._keys[self._current], self._current, exp, signed_part)
        return ".".join(p for p in (self._current, exp, mac) if p)

    # --- checking URLs ----------------------------------------------------------------
    def verify(self, signature: str, signed_part: str, now: float) -> str:
        """The id of the key that signed (``_`` for an accepted unsigned URL), or 403
        (``bad_signature``, ``expired_url``, ``unknown_key``, ``signature_required``);
        compares in constant time."""
        if signature == UNSIGNED:
            if self.allow_unsigned:
                return UNSIGNED
            raise SignatureError(
                "This server only serves signed image URLs.", code="signature_required"
            )
        parts = signature.split(".")
        if len(parts) not in (2, 3) or not _KEY_ID.fullmatch(parts[0]):
            raise SignatureError("Malformed URL signature.")
        kid, mac = parts[0], parts[-1]
        exp = parts[1] if len(parts) == 3 else ""
        if kid not in self._keys:
            raise SignatureError(
                "The URL was signed with a key this server does not hold.", code="unknown_key"
            )
        if len(parts) == 3 and not _EXPIRES.fullmatch(exp):
            raise SignatureError("Malformed URL signature.")
        expected = _mac(self._keys[kid], kid, exp, signed_part)
        if len(mac) != _MAC_LENGTH or not hmac.compare_digest(expected.encode(), mac.encode()):
            raise SignatureError("The URL signature does not match.")
        if exp and now >= int(exp):
            raise SignatureError("This image URL has expired.", code="expired_url")
        return kid

    def holds(self, key_id: str) -> bool:
        """Whether ``key_id`` is one of this signer's keys."""
        return key_id in self._keys


def signing_key_id(signature: str) -> str | None:
    """The key id a signature segment names (not verified), or None for the unsigned
    ``_`` and for a segment too malformed to name one."""
    kid, dot, _ = signature.partition(".")
    return kid if dot and _KEY_ID.fullmatch(kid) else None


def _mac(key: bytes, kid: str, exp: str, signed_part: str) -> str:
    message = f"v1\n{kid}\n{exp}\n{signed_part}".encode()
    digest = hmac.new(key, message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _key_bytes(kid: str, key: bytes | str) -> bytes:
    if not _KEY_ID.fullmatch(kid):
        raise ConfigError(f"signing key id {kid!r} must match {_KEY_ID.pattern}")
    raw = key.encode() if isinstance(key, str) else bytes(key)
    if len(raw) < MIN_KEY_BYTES:
        raise ConfigError(f"signing key {kid!r} is shorter than {MIN_KEY_BYTES} bytes")
    return raw
