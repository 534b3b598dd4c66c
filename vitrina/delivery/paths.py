"""Split ``/img/{signature}/{ops}/{asset_id}`` and refuse paths no valid URL has.

Pass the raw (still percent-encoded) path: valid image paths never need an escape,
so ``%2F``, ``%2e`` and friends are refused rather than decoded.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from vitrina.delivery.errors import InvalidPath
from vitrina.delivery.grammar import MAX_OPS_LENGTH
from vitrina.errors import NotFound
from vitrina.ids import ASSET_ID

PREFIX = "/img/"
UNSIGNED = "_"
_SIGNATURE = re.compile(r"[A-Za-z0-9._-]{1,200}")
_OPS = re.compile(rf"[A-Za-z0-9_.:,-]{{1,{MAX_OPS_LENGTH}}}")
_SAFE = re.compile(r"[A-Za-z0-9_.:,/-]*")


class ImagePath(NamedTuple):
    signature: str
    ops: str
    asset_id: str

    @property
    def signed_part(self) -> str:
        """What the signature covers: ``{ops}/{asset_id}``."""
        return f"{self.ops}/{self.asset_id}"


def parse_path(path: str) -> ImagePath:
    """Split an image path; 404 when it is not one, 400 ``invalid_path`` for tricks."""
    if not path.startswith(PREFIX):
        raise NotFound("Not an image path (expected /img/{signature}/{ops}/{asset_id}).")
    rest = path[len(PREFIX) :]
    if not _SAFE.fullmatch(rest) or ".." in rest or "//" in rest:
        raise InvalidPath(
            "Image paths use only letters, digits and _ . : , - between single slashes, "
            "with no escapes or '..'.",
            details={"path": path[:200]},
        )
    parts = rest.split("/")
    if len(parts) != 3:
        raise NotFound("An image path has exactly three parts: /img/{signature}/{ops}/{asset_id}.")
    signature, ops, asset_id = parts
    for name, value, pattern in (("signature", signature, _SIGNATURE), ("ops", ops, _OPS)):
        if not pattern.fullmatch(value):
            raise InvalidPath(f"Malformed {name} part.", details={"part": name})
    if not ASSET_ID.fullmatch(asset_id):
        raise NotFound("No asset has this id.", details={"asset_id": asset_id[:64]})
    return ImagePath(signature, ops, asset_id)


def build_path(signature: str, ops: str, asset_id: str) -> str:
    return f"{PREFIX}{signature}/{ops}/{asset_id}"
