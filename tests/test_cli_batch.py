"""`vitrina batch`: what is stale after an analyser's version went up, and its backfill."""

from __future__ import annotations

import json

from click.testing import CliRunner

from tests.conftest import PHOTOS
from vitrina.cli import main


def test_a_newer_analyser_is_stale_alone_and_backfilled(monkeypatch, tmp_path):
    import os

    for name in [n for n in os.environ if n.startswith("VITRINA_")]:
        monkeypatch.delenv(name)
    env = {"VITRINA_DEV": "1", "VITRINA_DATA_DIR": str(tmp_path / "data"),
           "VITRINA_DERIVATIVES__FORMATS": '["webp","jpeg"]'}
    runner = CliRunner()

    def run(*args: str, plugins: list[str] = ()):
        return runner.invoke(main, list(args), env=env | {"VITRINA_PLUGINS": json.dumps(list(plugins))},
                             catch_exceptions=False)

    assert run("db", "upgrade").exit_code == 0
    assert run("ingest", str(PHOTOS / "coffee.png"), str(PHOTOS / "rocket.jpg"), "--process").exit_code == 0
    newer = ["tests.pipeline.newer_phash"]
    assert run("batch", "stale", plugins=newer).output.splitlines() == ["analyser phash: 2 stale"]
    done = run("batch", "reprocess", "--analyser", "phash", plugins=newer)
    assert done.exit_code == 0 and "recomputed 2 analyser results" in done.output
    assert run("batch", "stale", plugins=newer).output.strip() == "nothing is stale"
    # without the plug-in, version 99 is not the current one: stale again, nothing else
    assert run("batch", "stale").output.splitlines() == ["analyser phash: 2 stale"]
    unknown = run("batch", "reprocess", "--analyser", "nope")
    assert unknown.exit_code == 1 and "no analyser named 'nope'" in unknown.output
