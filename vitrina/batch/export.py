"""A Parquet dataset of the catalog for ML work (decision 026).

    <out>/assets.parquet               one row per asset, with its tags
    <out>/signals.parquet              one row per stored analyser result, value as JSON
    <out>/embeddings/<signal>.parquet  vectors of results that hold an ``embedding``,
                                       as fixed_size_list<float32>[dim]

Assets are read a page at a time in id order and each page goes to every file before
the next is read, so memory stays bounded by the page. Everything is written into a
temporary directory beside ``out`` and renamed to it at the end: ``out`` is whole or
absent.
"""

from __future__ import annotations

import json
import shutil
import sys
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from vitrina.errors import InvalidInput
from vitrina.pipeline.queue import ASSETS, SIGNALS
from vitrina.runtime import Runtime
from vitrina.storage.catalog.models import Tag

PAGE = 1000
TAGS = Tag.__table__


def _schemas():
    import pyarrow as pa

    ts = pa.timestamp("us", tz="UTC")
    assets = pa.schema([
        ("id", pa.string()), ("project", pa.string()), ("kind", pa.string()), ("mime", pa.string()),
        ("width", pa.int32()), ("height", pa.int32()), ("bytes", pa.int64()), ("sha256", pa.string()),
        ("status", pa.string()), ("created_at", ts), ("title", pa.string()), ("alt_text", pa.string()),
        ("tags", pa.list_(pa.string())),
    ])
    signals = pa.schema([
        ("asset_id", pa.string()), ("name", pa.string()), ("producer", pa.string()), ("version", pa.string()),
        ("value", pa.string()), ("created_at", ts),
    ])
    return assets, signals


def _embedding_schema(dim: int):
    import pyarrow as pa

    return pa.schema([("asset_id", pa.string()), ("producer", pa.string()), ("version", pa.string()),
                      ("vector", pa.list_(pa.float32(), dim))])


class _Embeddings:
    """One writer per (signal name, dimension): ``<name>.parquet`` for the first
    dimension met, ``<name>.<dim>d.parquet`` for another (a model changed size)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(exist_ok=True)  # always there, empty when no result holds a vector
        self.writers: dict[tuple[str, int], Any] = {}
        self.rows: dict[str, int] = {}

    def add(self, name: str, rows: list[tuple[str, str, str, Any]]) -> None:
        import numpy as np
        import pyarrow as pa
        import pyarrow.parquet as pq

        by_dim: dict[int, list] = {}
        for row in rows:
            by_dim.setdefault(int(row[3].shape[0]), []).append(row)
        for dim, group in by_dim.items():
            writer = self.writers.get((name, dim))
            if writer is None:
                first = not any(n == name for n, _ in self.writers)
                path = self.directory / (f"{name}.parquet" if first else f"{name}.{dim}d.parquet")
                writer = self.writers[(name, dim)] = pq.ParquetWriter(path, _embedding_schema(dim))
            flat = pa.array(np.concatenate([r[3] for r in group]).astype(np.float32), pa.float32())
            table = pa.table({"asset_id": [r[0] for r in group], "producer": [r[1] for r in group],
                              "version": [r[2] for r in group],
                              "vector": pa.FixedSizeListArray.from_arrays(flat, dim)},
                             schema=_embedding_schema(dim))
            writer.write_table(table)
            self.rows[name] = self.rows.get(name, 0) + len(group)

    def close(self) -> None:
        for writer in self.writers.values():
            writer.close()


def export_dataset(rt: Runtime, out: Path, *, project: str | None = None, progress: bool = False,
                   page: int = PAGE) -> dict[str, int]:
    """Write the dataset to ``out`` (which must not exist); the rows written per file."""
    import pyarrow.parquet as pq
    from tqdm import tqdm

    out = Path(out)
    if out.exists():
        raise InvalidInput(f"{out} exists: give a new directory (the export never overwrites)",
                           code="export_target_exists", details={"out": str(out)})
    if not out.parent.is_dir():
        raise InvalidInput(f"{out.parent} is not a directory: create it first", code="export_target_missing",
                           details={"out": str(out)})
    tmp = out.parent / f".{out.name}.tmp-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    assets_schema, signals_schema = _schemas()
    counts = {"assets": 0, "signals": 0}
    embeddings = _Embeddings(tmp / "embeddings")
    where = [] if project is None else [ASSETS.c.project_id == project]
    try:
        with rt.sessions() as s:
            total = s.scalar(select(func.count()).select_from(ASSETS).where(*where))
        with (pq.ParquetWriter(tmp / "assets.parquet", assets_schema) as assets_out,
              pq.ParquetWriter(tmp / "signals.parquet", signals_schema) as signals_out,
              tqdm(total=total, desc="export", unit="asset", file=sys.stderr, disable=not progress) as bar):
            last = ""
            while True:
                with rt.sessions() as s:
                    rows = s.execute(select(ASSETS).where(*where, ASSETS.c.id > last)
                                     .order_by(ASSETS.c.id).limit(page)).all()
                    if not rows:
                        break
                    ids = [r.id for r in rows]
                    tags: dict[str, list[str]] = {}
                    for asset_id, tag in s.execute(select(TAGS.c.asset_id, TAGS.c.tag)
                                                   .where(TAGS.c.asset_id.in_(ids))
                                                   .order_by(TAGS.c.asset_id, TAGS.c.tag)):
                        if tag not in tags.setdefault(asset_id, []):
                            tags[asset_id].append(tag)
                    signals = s.execute(select(SIGNALS).where(SIGNALS.c.asset_id.in_(ids))
                                        .order_by(SIGNALS.c.asset_id, SIGNALS.c.name)).all()
                assets_out.write_table(_assets_table(rows, tags, assets_schema))
                signals_out.write_table(_signals_table(signals, signals_schema))
                for name, vectors in _vectors(signals).items():
                    embeddings.add(name, vectors)
                counts["assets"] += len(rows)
                counts["signals"] += len(signals)
                bar.update(len(rows))
                last = ids[-1]
        embeddings.close()
        tmp.rename(out)
    except BaseException:
        embeddings.close()
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    counts |= {f"embeddings/{name}": n for name, n in embeddings.rows.items()}
    return counts


def _assets_table(rows: Sequence[Any], tags: dict[str, list[str]], schema):
    import pyarrow as pa

    return pa.table({
        "id": [r.id for r in rows], "project": [r.project_id for r in rows], "kind": [r.kind for r in rows],
        "mime": [r.mime for r in rows], "width": [r.width for r in rows], "height": [r.height for r in rows],
        "bytes": [r.size_bytes for r in rows], "sha256": [r.sha256 for r in rows],
        "status": [r.status for r in rows], "created_at": [r.created_at for r in rows],
        "title": [r.title for r in rows], "alt_text": [r.alt_text for r in rows],
        "tags": [tags.get(r.id, []) for r in rows],
    }, schema=schema)


def _signals_table(rows: Sequence[Any], schema):
    import pyarrow as pa

    return pa.table({
        "asset_id": [r.asset_id for r in rows], "name": [r.name for r in rows],
        "producer": [r.producer for r in rows], "version": [r.version for r in rows],
        "value": [json.dumps(r.value, sort_keys=True, separators=(",", ":")) for r in rows],
        "created_at": [r.created_at for r in rows],
    }, schema=schema)


def _vectors(rows: Sequence[Any]) -> dict[str, list[tuple[str, str, str, Any]]]:
    """(asset id, producer, version, float32 vector) per signal name, for values with an
    ``embedding`` in the stored vector form."""
    from vitrina.search.vectors import decode_vector

    out: dict[str, list] = {}
    for r in rows:
        value = r.value
        if isinstance(value, dict) and isinstance(value.get("embedding"), dict):
            out.setdefault(r.name, []).append((r.asset_id, r.producer, r.version,
                                               decode_vector(value["embedding"])))
    return out
