"""`vitrina events import` of JSON lines, CSV and Parquet with a bad line each, and
`vitrina events export` of what was stored, on the embedded catalog."""

from __future__ import annotations

import csv
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.recs.test_items_cli import run  # noqa: F401  (the fixture)
from vitrina.recs.events import EXPORT_COLUMNS

T = 1_780_000_000.0
EVENTS = [
    {"event_id": "e1", "user_id": "u1", "item_id": "sku-1", "event": "impression", "value": 1.0,
     "ts": T, "session_id": "s1", "request_id": "r1", "model": "pop", "variant": "a",
     "position": 0, "propensity": 0.5},
    {"event_id": "e2", "user_id": "u1", "item_id": "sku-1", "event": "click", "value": 1.0,
     "ts": T + 2, "session_id": "s1", "request_id": "r1", "model": "pop", "variant": "a",
     "position": 0, "propensity": 0.5},
    {"event_id": "e3", "user_id": "u2", "item_id": "sku-2", "event": "click", "value": 1.0,
     "ts": T + 3, "session_id": None, "request_id": None, "model": None, "variant": None,
     "position": 2, "propensity": 0.0},  # a propensity of 0: rejected
    {"event_id": "e4", "user_id": "u2", "item_id": "sku-2", "event": "purchase", "value": 19.9,
     "ts": T + 9, "session_id": "s2", "request_id": None, "model": None, "variant": None,
     "position": None, "propensity": None},
]


def write(path):
    if path.suffix == ".jsonl":
        path.write_text("".join(json.dumps({k: v for k, v in e.items() if v is not None}) + "\n"
                                for e in EVENTS))
    elif path.suffix == ".csv":
        with path.open("w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=list(EVENTS[0]))
            w.writeheader()
            for e in EVENTS:
                w.writerow({k: "" if v is None else v for k, v in e.items()})
    else:
        pq.write_table(pa.Table.from_pylist(EVENTS), path)


@pytest.mark.parametrize("suffix,bad_line", [(".jsonl", 3), (".csv", 4), (".parquet", 3)])
def test_import_then_export(run, tmp_path, suffix, bad_line) -> None:  # noqa: F811
    path = tmp_path / f"events{suffix}"
    write(path)
    result = run("events", "import", path)
    assert result.exit_code == 1
    assert result.stdout.splitlines()[-1] == "accepted 3, duplicates 0, rejected 1"
    assert f"  line {bad_line}: propensity: must be a probability in (0, 1]" in result.stderr
    again = run("events", "import", path)
    assert again.stdout.splitlines()[-1] == "accepted 0, duplicates 3, rejected 1"
    out = tmp_path / "export" / "events.parquet"
    exported = run("events", "export", "--out", out)
    assert exported.stdout.strip() == f"wrote 3 events to {out}"
    rows = pq.read_table(out).to_pylist()
    assert tuple(rows[0]) == EXPORT_COLUMNS
    assert rows == [{c: e[c] for c in EXPORT_COLUMNS} for e in (EVENTS[0], EVENTS[1], EVENTS[3])]


def test_features_on_duckdb_from_the_export(run, tmp_path) -> None:  # noqa: F811
    path = tmp_path / "events.jsonl"
    write(path)
    run("events", "import", path)
    run("events", "export", "--out", tmp_path / "events.parquet")
    result = run("events", "features", tmp_path / "events.parquet", "--out", tmp_path / "features",
                 "--half-life", "3600", "--covisit-events", "impression,click,purchase")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert [line.split()[:2] for line in lines[:5]] == [
        ["item_popularity", "2"], ["item_recency", "2"], ["user_aggregates", "2"],
        ["item_aggregates", "2"], ["covisitation", "0"]]  # s1 holds one item, s2 one
    assert lines[5].startswith("duckdb: ") and lines[5].endswith(f"as of {T + 9}")
    aggregates = {r["item_id"]: r for r in pq.read_table(tmp_path / "features" / "item_aggregates.parquet").to_pylist()}
    assert aggregates["sku-1"] == {"item_id": "sku-1", "users": 1, "impressions": 1, "clicks": 1,
                                        "purchases": 0, "ctr": 1.0}
    bad = run("events", "features", tmp_path / "events.parquet", "--out", tmp_path / "f2",
              "--covisit-events", "no way")
    assert bad.exit_code == 2
