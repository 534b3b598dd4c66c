"""The Open Bandit logs (tests/data/obd: 5,000 impressions of ZOZOTOWN's uniform-random
policy over 80 items, with clicks and propensities) through the serving log: in from
files in two parts, then read back by the monitoring and by the off-policy reader.
Each logged row is one shown slot, so it is logged as a one-item list (position 0) with
its logged propensity of 1/80."""

from __future__ import annotations

import csv
import json
from datetime import datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from tests.conftest import make_settings
from vitrina.api.app import create_app
from vitrina.cli import main
from vitrina.storage.catalog.db import upgrade
from vitrina.testing import make_runtime

OBD = Path(__file__).resolve().parents[1] / "data" / "obd" / "random_all_head.csv"


def cli(settings, *args):
    return CliRunner().invoke(main, [str(a) for a in args], obj=settings, catch_exceptions=False)


def write_events(rows: list[dict], path: Path) -> None:
    with path.open("w") as f:
        for n, row in rows:
            served = {"request_id": f"obd-{n}", "model": "random", "variant": "control",
                      "position": 0, "propensity": float(row["propensity_score"])}
            base = {"user_id": row["user"], "item_id": f"item-{row['item_id']}", "ts": row["ts"], **served}
            f.write(json.dumps({"id": f"obd-{n}-i", "event": "impression", **base}) + "\n")
            if row["click"] == "1":
                f.write(json.dumps({"id": f"obd-{n}-c", "event": "click", **base, "ts": row["ts"] + 1}) + "\n")


@pytest.fixture
def obd(tmp_path):
    settings = make_settings(tmp_path, f"sqlite:///{tmp_path / 'catalog.db'}")
    rt = make_runtime(settings)
    upgrade(rt.engine)
    with OBD.open() as f:
        rows = list(enumerate(csv.DictReader(f)))
    for _, row in rows:
        row["ts"] = datetime.fromisoformat(row["timestamp"]).timestamp()
    rows.sort(key=lambda r: r[1]["ts"])
    half = len(rows) // 2
    write_events(rows[:half], tmp_path / "first.jsonl")
    write_events(rows[half:], tmp_path / "second.jsonl")
    with (tmp_path / "items.jsonl").open("w") as f:
        f.writelines(json.dumps({"id": f"item-{i}", "type": "fashion"}) + "\n" for i in range(80))
    app = create_app(settings, start_workers=False, runtime=rt)
    with TestClient(app) as client:
        yield settings, client, tmp_path, rows
    rt.close()


def test_the_open_bandit_logs_in_and_read_back(obd) -> None:
    """Every logged row goes in through the CLI; the monitoring report and the served
    lists that the verdicts read give back the file's own figures. (The sample holds too
    few clicks, 15 in 5,000 rows, to train a recommender on: MovieLens is the loop's
    training set, test_loop_movielens.py.)"""
    import time

    from vitrina.recs.logged_slates import read_served_lists
    from vitrina.storage.catalog.projects import DEFAULT_PROJECT

    settings, client, tmp, rows = obd
    assert cli(settings, "items", "import", tmp / "items.jsonl").exit_code == 0
    clicks = sum(1 for _, r in rows if r["click"] == "1")
    half = len(rows) // 2
    for name, part in (("first.jsonl", rows[:half]), ("second.jsonl", rows[half:])):
        done = cli(settings, "events", "import", tmp / name)
        n_clicks = sum(1 for _, r in part if r["click"] == "1")
        assert done.stdout.strip() == f"accepted {len(part) + n_clicks}, duplicates 0, rejected 0"

    since = time.time() - rows[0][1]["ts"] + 60
    report = cli(settings, "recs", "report", "--since", str(since), "--json")
    assert report.exit_code == 0, report.output
    (line,) = [v for v in json.loads(report.stdout)["variants"] if v["model"] == "random"]
    assert (line["variant"], line["impressions"], line["requests"]) == ("control", len(rows), len(rows))
    assert (line["clicks"], line["ctr"]) == (clicks, pytest.approx(clicks / len(rows)))
    low, high = line["ctr_interval"]
    assert low < clicks / len(rows) < high
    shown = {r["item_id"] for _, r in rows}
    assert line["coverage"] == pytest.approx(len(shown) / 80)

    lists = read_served_lists(client.app.state.runtime.sessions, DEFAULT_PROJECT)
    assert (lists.n_requests, lists.dropped, int(lists.reward.sum())) == (len(rows), 0, clicks)
    assert set(lists.propensity.tolist()) == {0.0125}  # the uniform policy's 1/80
