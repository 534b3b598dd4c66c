"""`vitrina ingest` shows the bytes of a large file as it reads them."""

from __future__ import annotations

import hashlib

from click.testing import CliRunner

from tests.conftest import PHOTOS
from vitrina.cli import assets as cli_assets
from vitrina.cli import main
from vitrina.config import load_settings
from vitrina.runtime import Runtime
from vitrina.storage.catalog.projects import DEFAULT_PROJECT


def test_a_large_file_gets_a_byte_bar_and_is_ingested_whole(monkeypatch, tmp_path):
    import os

    for name in [n for n in os.environ if n.startswith("VITRINA_")]:
        monkeypatch.delenv(name)
    monkeypatch.setattr(cli_assets, "LARGE_FILE", 1)
    env = {"VITRINA_DEV": "1", "VITRINA_DATA_DIR": str(tmp_path / "data")}
    runner = CliRunner()
    assert runner.invoke(main, ["db", "upgrade"], env=env).exit_code == 0
    photo = PHOTOS / "rocket.jpg"
    result = runner.invoke(main, ["ingest", str(photo)], env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "1 files: 1 new" in result.stdout
    assert "rocket.jpg" in result.stderr and "B/s" in result.stderr  # the byte bar
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    rt = Runtime(load_settings())
    try:
        (asset,) = rt.assets.list(DEFAULT_PROJECT).items
        assert asset.sha256 == hashlib.sha256(photo.read_bytes()).hexdigest() and asset.filename == "rocket.jpg"
    finally:
        rt.close()
