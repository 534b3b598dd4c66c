"""Identifiers that sort by creation time (so cursor pagination is an index range)."""

from __future__ import annotations

import re
import secrets
import time

ASSET_ID = re.compile(r"^[0-9a-f]{32}$")


def new_id() -> str:
    """48 bits of milliseconds then 80 random bits, as 32 hex characters."""
    return f"{int(time.time() * 1000):012x}{secrets.token_hex(10)}"


def is_id(value: str) -> bool:
    return bool(ASSET_ID.match(value))
