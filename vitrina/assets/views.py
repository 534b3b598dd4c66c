"""The public JSON shape of an asset: what ``GET /v1/assets/{id}`` answers and
``vitrina assets show`` prints."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from vitrina.assets.records import AssetRecord, StepRecord
from vitrina.assets.states import StepState

#: metadata that must never leave, even to key holders
PRIVATE_META = frozenset({"gps"})


def without_vector(value: dict[str, Any]) -> dict[str, Any]:
    """A signal's value with its embedding as its shape only: 1280 floats are 7 KB of
    base64 per asset in every listing, and what needs them reads them from the
    catalogue (search, ``vitrina batch export``)."""
    vector = value.get("embedding")
    if isinstance(vector, dict) and "data" in vector:
        return {**value, "embedding": {k: v for k, v in vector.items() if k != "data"}}
    return value


def asset_json(a: AssetRecord, base_url: str, now: datetime | None = None) -> dict[str, Any]:
    """``a`` as JSON-ready values, its URLs under ``base_url`` (no trailing slash), its
    running steps' time left as seen at ``now`` (default: the current time)."""
    root = f"{base_url}/v1/assets/{a.id}"
    now = now or datetime.now(UTC)
    return {
        "id": a.id, "status": a.status.value, "kind": a.kind, "mime": a.mime,
        "filename": a.filename, "size_bytes": a.size_bytes, "sha256": a.sha256,
        "width": a.width, "height": a.height, "error": a.error,
        "metadata": {k: v for k, v in a.meta.items() if k not in PRIVATE_META},
        "derivatives": [
            {"width": d.width, "height": d.height, "format": d.format, "mime": d.mime,
             "size_bytes": d.size_bytes, "path": d.path(a.id), "url": f"{root}/derivatives/{d.name}"}
            for d in a.derivatives
        ],
        "signals": {name: {"producer": s.producer, "version": s.version, **without_vector(s.value)}
                    for name, s in a.signals.items()},
        "steps": [
            {"step": r.step, "version": r.version, "state": r.state.value, "attempts": r.attempts,
             "error_code": r.error_code, "error": r.error, "duration_ms": r.duration_ms,
             "progress": progress_of(r), "eta_seconds": eta_seconds(r, now)}
            for r in a.steps
        ],
        "original_url": f"{root}/original",
        "created_at": timestamp(a.created_at),
        "updated_at": timestamp(a.updated_at),
        # user metadata last: what people set, after what the pipeline found
        "title": a.metadata.title, "alt_text": a.metadata.alt_text, "tags": list(a.metadata.tags),
        "fields": dict(a.metadata.fields or {}), "metadata_version": a.metadata_version,
        "metadata_updated_at": None if a.metadata_updated_at is None else timestamp(a.metadata_updated_at),
    }


def progress_of(r: StepRecord) -> float | None:
    """The fraction of a running step done, as it last reported (None before its first
    report), or 1 for a done one; other states have none: a retry starts from nothing."""
    if r.progress is None or r.state not in (StepState.RUNNING, StepState.DONE):
        return None
    return round(r.progress, 4)  # a hundredth of a percent is as fine as a bar draws


def eta_seconds(r: StepRecord, now: datetime) -> int | None:
    """Whole seconds a running step has left, once it reported some progress: the time it
    took so far scaled to the fraction left, ``elapsed * (1 - p) / p`` (decision 019)."""
    p = r.progress
    if r.state != StepState.RUNNING or not p or r.started_at is None:
        return None
    elapsed = max((now - r.started_at).total_seconds(), 0.0)  # another machine's clock may lead
    return round(elapsed * (1 - p) / p)


def timestamp(t: datetime) -> str:
    """ISO 8601 as the API writes it: UTC as ``Z``, microseconds only when there are any."""
    text = t.isoformat()
    return f"{text[:-6]}Z" if text.endswith("+00:00") else text
