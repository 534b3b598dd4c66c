"""Page cursors of the asset lists (collections page the same way): opaque to clients,
an asset id underneath."""

from __future__ import annotations

import base64

from vitrina.errors import InvalidInput
from vitrina.ids import is_id


def encode_cursor(asset_id: str) -> str:
    """The cursor of a page that ends at ``asset_id`` (collections page the same way)."""
    return base64.urlsafe_b64encode(asset_id.encode()).decode()


def decode_cursor(cursor: str) -> str:
    """The asset id a cursor stands for; ``invalid_cursor`` if it is not one we gave out."""
    try:
        value = base64.urlsafe_b64decode(cursor.encode()).decode()
    except (ValueError, UnicodeDecodeError):  # binascii.Error is a ValueError
        value = ""
    if not is_id(value):
        raise InvalidInput("cursor is not one this API gave out", code="invalid_cursor")
    return value
