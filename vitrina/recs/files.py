"""Records from JSON lines, CSV or Parquet files (chosen by suffix), with where each
came from (a line of a text file, a row of a Parquet file), for imports that name the
records they reject."""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vitrina.errors import InvalidInput

SUFFIXES = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl", ".csv": "csv",
            ".parquet": "parquet", ".pq": "parquet"}
PARQUET_BATCH = 10_000


@dataclass(frozen=True, slots=True)
class Record:
    line: int  # 1-based: a text file's line, a Parquet file's row
    data: dict[str, Any] | None
    error: str | None = None


def format_of(path: Path) -> str:
    found = SUFFIXES.get(path.suffix.lower())
    if found is None:
        raise InvalidInput(f"{path.name}: not a file of a known format; name it "
                           f"{', '.join(sorted(SUFFIXES))}", code="unknown_format")
    return found


def count(path: Path) -> int:
    """How many records the file holds (lines of text less a CSV header; Parquet rows)."""
    kind = format_of(path)
    if kind == "parquet":
        import pyarrow.parquet as pq

        return pq.ParquetFile(path).metadata.num_rows
    with path.open("rb") as f:
        lines = sum(1 for line in f if line.strip())
    return max(lines - (kind == "csv"), 0)


def read(path: Path, numbers: frozenset[str] = frozenset()) -> Iterator[Record]:
    """The file's records; a CSV cell named in ``numbers`` is read as a number, an
    empty cell as null."""
    kind = format_of(path)
    if kind == "jsonl":
        with path.open("r", encoding="utf-8", errors="replace") as f:
            for n, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    data = json.loads(line)
                except ValueError as exc:
                    yield Record(n, None, f"not JSON: {exc.msg}")
                    continue
                yield Record(n, data) if isinstance(data, dict) else \
                    Record(n, None, "not a JSON object")
    elif kind == "csv":
        with path.open("r", encoding="utf-8", errors="replace", newline="") as f:
            reader = csv.DictReader(f)
            for row in reader:
                n = reader.line_num
                if None in row:
                    yield Record(n, None, "more cells than the header has columns")
                    continue
                out, error = {}, None
                for key, cell in row.items():
                    if cell is None or cell == "":
                        out[key] = None
                    elif key in numbers:
                        try:
                            out[key] = int(cell) if cell.lstrip("-").isdigit() else float(cell)
                        except ValueError:
                            error = f"{key}: {cell[:40]!r} is not a number"
                    else:
                        out[key] = cell
                yield Record(n, None, error) if error else Record(n, out)
    else:
        import pyarrow.parquet as pq

        n = 0
        for batch in pq.ParquetFile(path).iter_batches(batch_size=PARQUET_BATCH):
            for row in batch.to_pylist():
                n += 1
                yield Record(n, {k: None if isinstance(v, float) and math.isnan(v) else v
                                 for k, v in row.items()})
