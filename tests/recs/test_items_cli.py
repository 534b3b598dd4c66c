"""`vitrina items import` of JSON lines, CSV and Parquet with a bad line each, then
`vitrina items ls`, on the embedded catalog."""

from __future__ import annotations

import csv
import json
import os

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from vitrina.cli import main

ROWS = [{"id": "b1", "type": "book", "title": "Dune", "attributes": {"year": 1965}},
        {"id": "b2", "type": "book", "title": "Solaris", "attributes": {"year": 1961}},
        {"id": "bad id", "type": "book"},
        {"id": "m1", "type": "movie", "title": "Stalker", "asset_ids": []}]


@pytest.fixture
def run(monkeypatch, tmp_path):
    for name in [n for n in os.environ if n.startswith("VITRINA_")]:
        monkeypatch.delenv(name)
    env = {"VITRINA_DEV": "1", "VITRINA_DATA_DIR": str(tmp_path / "data")}
    runner = CliRunner()

    def invoke(*args):
        return runner.invoke(main, [str(a) for a in args], env=env, catch_exceptions=False)

    assert invoke("db", "upgrade").exit_code == 0
    return invoke


def write(path, rows):
    if path.suffix == ".jsonl":
        path.write_text("".join(json.dumps(r) + "\n" for r in rows[:2]) + "{not json\n"
                        + "".join(json.dumps(r) + "\n" for r in rows[2:]))
    elif path.suffix == ".csv":
        with path.open("w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["id", "type", "title", "attributes", "asset_ids"])
            for r in rows:
                w.writerow([r["id"], r["type"], r.get("title", ""),
                            json.dumps(r["attributes"]) if "attributes" in r else "", ""])
    else:
        pq.write_table(pa.table({"id": [r["id"] for r in rows], "type": [r["type"] for r in rows],
                                 "title": [r.get("title") for r in rows],
                                 "attributes": [json.dumps(r.get("attributes", {})) for r in rows]}),
                       path)


@pytest.mark.parametrize("suffix,bad", [(".jsonl", [3, 4]), (".csv", [4]), (".parquet", [3])])
def test_import_reports_new_updated_unchanged_and_rejected_lines(run, tmp_path, suffix, bad) -> None:
    path = tmp_path / f"items{suffix}"
    write(path, ROWS)
    first = run("items", "import", path)
    assert first.exit_code == 1  # a line was rejected
    assert first.stdout.splitlines()[-1] == f"new 3, updated 0, unchanged 0, rejected {len(bad)}"
    assert [int(line.split()[1].rstrip(":")) for line in first.stderr.splitlines()
            if line.startswith("  line ")] == bad
    again = run("items", "import", path)
    assert again.stdout.splitlines()[-1] == f"new 0, updated 0, unchanged 3, rejected {len(bad)}"
    changed = [{**ROWS[0], "title": "Dune Messiah"}, ROWS[1], ROWS[3]]
    write(path, changed)
    third = run("items", "import", path)
    assert third.stdout.splitlines()[-1].startswith("new 0, updated 1, unchanged 2")
    listed = run("items", "ls", "--type", "book", "--json")
    assert [json.loads(line)["title"] for line in listed.stdout.splitlines()] == ["Dune Messiah", "Solaris"]
    table = run("items", "ls")
    assert table.exit_code == 0 and len(table.stdout.splitlines()) == 4  # header and three items


def test_unknown_format_is_refused(run, tmp_path) -> None:
    path = tmp_path / "items.xml"
    path.write_text("<items/>")
    result = run("items", "import", path)
    assert result.exit_code == 1 and "unknown_format" in result.stderr
