"""The REST paths and query strings of the client's calls: every id is quoted whole,
so an id can never add path segments or a query."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import quote


def segment(value: str) -> str:
    return quote(value, safe="")


def asset_path(asset_id: str) -> str:
    return f"/v1/assets/{segment(asset_id)}"


def collection_path(collection_id: str) -> str:
    return f"/v1/collections/{segment(collection_id)}"


def iso(value: str | datetime | None) -> str | None:
    return value.isoformat() if isinstance(value, datetime) else value


def query(**params: Any) -> dict[str, Any]:
    """The query parameters given: those that are None are left out."""
    return {k: v for k, v in params.items() if v is not None}
