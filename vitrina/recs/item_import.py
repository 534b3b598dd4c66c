"""`vitrina items import`: items from a JSON lines, CSV or Parquet file, validated one
by one (rejects named by line) and upserted in batches (decision 029)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from vitrina.recs.items import MAX_BATCH, ItemService, item_problems, make_item, write_items
from vitrina.storage.catalog.db import transaction


@dataclass
class ImportSummary:
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[tuple[int, str]] | None = None


def _from_file(data: dict[str, Any]) -> dict[str, Any]:
    """A file's record as the API's item: nulls left out; in CSV the attributes are JSON
    text and the asset ids a JSON list or ids separated by ';'."""
    out = {k: v for k, v in data.items() if v is not None}
    if isinstance(out.get("attributes"), str):
        try:
            out["attributes"] = json.loads(out["attributes"])
        except ValueError:
            pass  # refused as "must be an object"
    for field in ("active_from", "active_until"):  # CSV: epoch seconds arrive as text
        value = out.get(field)
        if isinstance(value, str) and re.fullmatch(r"\d+(\.\d+)?", value.strip()):
            out[field] = float(value)
    assets = out.get("asset_ids")
    if isinstance(assets, str):
        try:
            out["asset_ids"] = json.loads(assets) if assets.startswith("[") else \
                [a for a in assets.split(";") if a]
        except ValueError:
            pass  # refused as "must be a list"
    return out


def import_items(service: ItemService, project: str, path: Any,
                 progress: Any = lambda n: None) -> ImportSummary:
    """Validate each record, upsert the valid ones in batches; rejects by line (a
    second record of an id already in the file is one)."""
    from vitrina.recs import files

    summary, pending, seen = ImportSummary(rejected=[]), [], set()

    def flush() -> None:
        if pending:
            with transaction(service.sessions) as s:
                done = write_items(s, project, pending)
            summary.new += len(done.new)
            summary.updated += len(done.updated)
            summary.unchanged += len(done.unchanged)
            progress(len(pending))
            pending.clear()

    for record in files.read(path):
        problems = [("", record.error or "unreadable")] if record.data is None else None
        if problems is None:
            data = _from_file(record.data)
            problems = item_problems(data.get("id"), data)
            if not problems and data["id"] in seen:
                problems = [("id", "appears earlier in the file")]
        if problems:
            summary.rejected.append((record.line, "; ".join(f"{f}: {m}" if f else m
                                                            for f, m in problems)))
            progress(1)
            continue
        seen.add(data["id"])
        pending.append(make_item(data["id"], data))
        if len(pending) >= MAX_BATCH:
            flush()
    flush()
    return summary
