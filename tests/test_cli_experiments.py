"""`vitrina exp` as a user runs it: a JSON definition, CSV logs, results as a table,
as JSON and as a PNG, on the embedded catalog."""

from __future__ import annotations

import copy
import csv
import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from vitrina.cli import main

DAY = 86_400.0
T0 = 1_780_000_000.0
SPEC = {
    "definition": {"key": "checkout", "variants": [{"key": "control"}, {"key": "express"}],
                   "targeting": [{"attribute": "country", "op": "in", "value": ["FR", "DE"]}]},
    "plan": {"metrics": [{"name": "buyers", "kind": "proportion", "event": "buy"},
                         {"name": "revenue", "kind": "mean", "event": "buy"}],
             "guardrails": [{"metric": "revenue", "tolerance": 0.05}]},
}


@pytest.fixture
def run(monkeypatch, tmp_path):
    import os

    for name in [n for n in os.environ if n.startswith("VITRINA_")]:
        monkeypatch.delenv(name)
    env = {"VITRINA_DEV": "1", "VITRINA_DATA_DIR": str(tmp_path / "data")}
    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(main, [str(a) for a in args], env=env, catch_exceptions=False)

    assert invoke("db", "upgrade").exit_code == 0
    return invoke


def write_logs(tmp_path, n=600, seed=7):
    rng = np.random.default_rng(seed)
    exposures, events = tmp_path / "exposures.csv", tmp_path / "events.csv"
    with open(exposures, "w", newline="") as fx, open(events, "w", newline="") as fe:
        x, e = csv.writer(fx), csv.writer(fe)
        x.writerow(["unit_id", "variant", "timestamp"])
        e.writerow(["unit_id", "event", "value", "timestamp"])
        for i in range(n):
            variant = ("control", "express")[i % 2]
            t = T0 + rng.uniform(0, 3 * DAY)
            x.writerow([f"u{i}", variant, f"{t:.3f}"])
            if rng.random() < (0.2 if variant == "control" else 0.3):
                e.writerow([f"u{i}", "buy", f"{rng.gamma(2, 10):.2f}", f"{t + 3600:.3f}"])
    return exposures, events


COMMANDS = [("exp",), *[("exp", c) for c in ("create", "update", "ls", "show", "stop", "kill",
                                            "assign", "log-exposures", "log-events", "results")]]


@pytest.mark.parametrize("words", COMMANDS, ids=" ".join)
def test_every_exp_command_has_help(words):
    result = CliRunner().invoke(main, [*words, "--help"])
    assert result.exit_code == 0 and "Usage:" in result.output
    if len(words) > 1:  # every command acts in one project
        assert "--project ID" in result.output and "[default: default]" in result.output


def test_exp_end_to_end(run, tmp_path):
    spec = tmp_path / "checkout.json"
    spec.write_text(json.dumps(SPEC))
    assert run("exp", "create", spec).output.strip() == "created checkout (revision 1, running)"
    assert "checkout" in run("exp", "ls").output.splitlines()[1]
    assert json.loads(run("exp", "show", "checkout").output)["plan"]["guardrails"][0]["metric"] \
        == "revenue"

    fr = json.loads(run("exp", "assign", "checkout", "u1", "--attr", "country=FR").output)
    us = json.loads(run("exp", "assign", "checkout", "u1", "--attr", "country=US").output)
    assert fr["in_experiment"] and fr["unit_id"] == "u1" and fr["reason"] == "assigned"
    assert (us["in_experiment"], us["reason"], us["variant"]) == (False, "not_targeted", "control")

    exposures, events = write_logs(tmp_path)
    logged = run("exp", "log-exposures", exposures, "--experiment", "checkout")
    assert logged.exit_code == 0, logged.output
    assert f"logged 600 exposures from {exposures}" in logged.output
    assert "exposures: 100%" in logged.output  # the progress bar (on stderr)
    logged = run("exp", "log-events", events)
    assert logged.exit_code == 0 and "events from" in logged.output

    png = tmp_path / "effect.png"
    text = run("exp", "results", "checkout", "--png", png)
    assert text.exit_code == 0, text.output
    lines = text.output.splitlines()
    assert lines[1].startswith("units: control 300  express 300   sample ratio: ok")
    assert any(line.startswith("buyers") and "express" in line for line in lines)
    assert "recommendation: continue" in text.output
    with Image.open(png) as image:
        assert image.format == "PNG" and image.size == (900, 380)
    full = json.loads(run("exp", "results", "checkout", "--json").output)
    assert full["units"] == {"control": 300, "express": 300}
    assert full["results"][0]["metric"] == "buyers" and full["recommendation"] == "continue"

    SPEC["definition"]["traffic"] = 0.5
    spec.write_text(json.dumps(SPEC))
    assert "revision 2" in run("exp", "update", "checkout", spec).output
    stale = run("exp", "update", "checkout", spec, "--revision", "1")
    assert stale.exit_code == 1 and "revision_mismatch" in stale.output
    assert run("exp", "stop", "checkout").output.strip() == "stop: checkout is stopped (revision 3)"
    assert run("exp", "kill", "checkout").output.strip() == "kill: checkout is killed (revision 4)"
    assert " killed " in run("exp", "ls").output
    assert run("exp", "ls", "--status", "killed").output.splitlines()[1].split()[:2] == ["checkout", "killed"]
    assert len(run("exp", "ls", "--status", "stopped").output.splitlines()) == 1  # shown as killed


def test_bad_files_change_nothing(run, tmp_path):
    spec = tmp_path / "bad.json"
    spec.write_text(json.dumps({"definition": {"key": "x", "variants": []}}))
    bad = run("exp", "create", spec)
    assert bad.exit_code == 1 and "invalid_experiment" in bad.output
    spec.write_text(json.dumps(SPEC))
    run("exp", "create", spec)

    rows = tmp_path / "exposures.csv"
    rows.write_text("unit_id,variant,timestamp\nu1,control,1780000000\nu2,express,soon\n"
                    "u3,other,1780000000\n")
    bad = run("exp", "log-exposures", rows, "--experiment", "checkout")
    assert bad.exit_code == 1
    assert "invalid_logs" in bad.output and "line 3: timestamp" in bad.output
    rows.write_text("unit_id,variant,timestamp\nu1,control,1780000000\nu3,other,1780000000\n")
    bad = run("exp", "log-exposures", rows, "--experiment", "checkout")
    assert bad.exit_code == 1 and "line 3: variant" in bad.output
    wrong = tmp_path / "wrong.csv"
    wrong.write_text("user,variant\nu1,control\n")
    bad = run("exp", "log-exposures", wrong, "--experiment", "checkout")
    assert bad.exit_code == 2 and "unknown ['user']" in bad.output
    assert json.loads(run("exp", "results", "checkout", "--json").output)["units"] == \
        {"control": 0, "express": 0}  # nothing was logged
    missing = run("exp", "show", "nope")
    assert missing.exit_code == 1 and "not_found" in missing.output


def _readme_section() -> str:
    text = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    return text.split("\n## Experiments\n", 1)[1].split("\n## ", 1)[0]


def test_the_readme_session_prints_what_the_readme_shows(run, tmp_path, monkeypatch):
    readme = _readme_section()
    spec = readme.split("$ cat hero.json\n", 1)[1].split("\n$ .venv/bin/vitrina exp create", 1)[0]
    script = readme.split("```python\n", 1)[1].split("```", 1)[0]
    shown = readme.split("$ .venv/bin/vitrina exp results hero-image --png effect.png\n", 1)[1]
    shown = shown.split("\nwrote effect.png", 1)[0].splitlines()
    monkeypatch.chdir(tmp_path)
    (tmp_path / "hero.json").write_text(spec)
    exec(compile(script, "simulate.py", "exec"), {})  # noqa: S102  (the README's own script)
    assert run("exp", "create", "hero.json").exit_code == 0
    # what the README's curl calls did: user-42's exposure and purchase
    assert run("exp", "assign", "hero-image", "user-42", "--attr", "country=FR",
               "--log-exposure").exit_code == 0
    (tmp_path / "order.csv").write_text("unit_id,event,value\nuser-42,purchase,31.5\n")
    for args in (("log-exposures", "exposures.csv", "--experiment", "hero-image"),
                 ("log-events", "events.csv"), ("log-events", "order.csv")):
        assert run("exp", *args).exit_code == 0
    printed = run("exp", "results", "hero-image").output.splitlines()
    assert printed == shown


def add_project(tmp_path, project_id):
    from tests.conftest import make_settings
    from vitrina.runtime import Runtime
    from vitrina.storage.catalog.db import transaction
    from vitrina.storage.catalog.projects import ProjectRow

    url = f"sqlite:///{tmp_path / 'data' / 'catalog.db'}"
    rt = Runtime(make_settings(tmp_path, url))
    try:
        with transaction(rt.sessions) as s:
            s.add(ProjectRow(id=project_id, name=project_id))
    finally:
        rt.close()


def test_each_command_acts_in_its_project(run, tmp_path):
    add_project(tmp_path, "beta")
    default_spec, beta_spec = tmp_path / "default.json", tmp_path / "beta.json"
    mine = copy.deepcopy(SPEC)
    mine["definition"].pop("traffic", None)  # another test changes SPEC's
    default_spec.write_text(json.dumps(mine))
    other = copy.deepcopy(mine)
    other["definition"].update(variants=[{"key": "x"}, {"key": "y"}], targeting=[])
    beta_spec.write_text(json.dumps(other))
    assert run("exp", "create", default_spec).exit_code == 0
    assert run("exp", "create", beta_spec, "--project", "beta").output.strip() == \
        "created checkout (revision 1, running)"  # the same key, another project
    assert "control:50% express:50%" in run("exp", "ls").output
    assert "x:50% y:50%" in run("exp", "ls", "--project", "beta").output
    beta = json.loads(run("exp", "assign", "checkout", "u1", "--project", "beta").output)
    assert beta["variant"] in ("x", "y") and beta["reason"] == "assigned"

    exposures, events = tmp_path / "exposures.csv", tmp_path / "events.csv"
    exposures.write_text("unit_id,variant,timestamp\n" + "".join(
        f"u{i},{'xy'[i % 2]},{T0 + i}\n" for i in range(40)))
    events.write_text("unit_id,event,value,timestamp,id\n" + "".join(
        f"u{i},buy,10,{T0 + 3600 + i},order-{i}\n" for i in range(40)))
    refused = run("exp", "log-exposures", exposures, "--experiment", "checkout")
    assert refused.exit_code == 1 and "line 2: variant" in refused.output  # x is beta's only
    assert run("exp", "log-exposures", exposures, "--experiment", "checkout",
               "--project", "beta").exit_code == 0
    for project in ("beta", "default"):  # the same event ids in both projects
        logged = run("exp", "log-events", events, "--project", project)
        assert logged.exit_code == 0 and "logged 40 events" in logged.output

    assert json.loads(run("exp", "results", "checkout", "--json").output)["units"] == \
        {"control": 0, "express": 0}
    full = json.loads(run("exp", "results", "checkout", "--json", "--project", "beta").output)
    assert full["units"] == {"x": 20, "y": 20}
    assert "stop: checkout is stopped" in run("exp", "stop", "checkout", "--project", "beta").output
    assert json.loads(run("exp", "show", "checkout").output)["status"] == "running"

    missing = run("exp", "show", "checkout", "--project", "gamma")
    assert missing.exit_code == 1 and "not_found: no experiment 'checkout'" in missing.output
    unknown = run("exp", "create", default_spec, "--project", "gamma")
    assert unknown.exit_code == 1 and "not_found: no project 'gamma'" in unknown.output
