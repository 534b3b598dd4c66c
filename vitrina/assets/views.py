"""The public JSON shape of an asset: what ``GET /v1/assets/{id}`` answers and
``vitrina assets show`` prints."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from vitrina.assets.records import AssetRecord

#: metadata that must never leave, even to key holders
PRIVATE_META = frozenset({"gps"})


def asset_json(a: AssetRecord, base_url: str) -> dict[str, Any]:
    """``a`` as JSON-ready values, its URLs under ``base_url`` (no trailing slash)."""
    root = f"{base_url}/v1/assets/{a.id}"
    return {
        "id": a.id, "status": a.status.value, "kind": a.kind, "mime": a.mime,
        "filename": a.filename, "size_bytes": a.size_bytes, "sha256": a.sha256,
        "width": a.width, "height": a.height, "error": a.error,
        "metadata": {k: v for k, v in a.meta.items() if k not in PRIVATE_META},
        "derivatives": [
            {"width": d.width, "height": d.height, "format": d.format, "mime": d.mime,
             "size_bytes": d.size_bytes, "url": f"{root}/derivatives/{d.name}"}
            for d in a.derivatives
        ],
        "signals": {name: {"producer": s.producer, "version": s.version, **s.value}
                    for name, s in a.signals.items()},
        "steps": [
            {"step": r.step, "version": r.version, "state": r.state.value, "attempts": r.attempts,
             "error_code": r.error_code, "error": r.error, "duration_ms": r.duration_ms}
            for r in a.steps
        ],
        "original_url": f"{root}/original",
        "created_at": timestamp(a.created_at),
        "updated_at": timestamp(a.updated_at),
    }


def timestamp(t: datetime) -> str:
    """ISO 8601 as the API writes it: UTC as ``Z``, microseconds only when there are any."""
    text = t.isoformat()
    return f"{text[:-6]}Z" if text.endswith("+00:00") else text
