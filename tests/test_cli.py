"""The `vitrina` command, run as a user would (environment settings, real files)."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from tests.conftest import HOSTILE, PHOTOS
from vitrina.cli import main


@pytest.fixture
def run(monkeypatch, tmp_path):
    import os

    for name in [n for n in os.environ if n.startswith("VITRINA_")]:
        monkeypatch.delenv(name)
    env = {"VITRINA_DEV": "1", "VITRINA_DATA_DIR": str(tmp_path / "data"),
           "VITRINA_DERIVATIVES__FORMATS": '["webp","jpeg"]'}
    runner = CliRunner()

    def invoke(*args: str, plugins: tuple[str, ...] = ()):
        return runner.invoke(main, list(args), env=env | {"VITRINA_PLUGINS": json.dumps(plugins)},
                             catch_exceptions=False)

    assert invoke("db", "upgrade").exit_code == 0
    return invoke


COMMANDS = [(), ("serve",), ("worker",), ("ingest",), ("assets",), ("assets", "ls"), ("assets", "show"),
            ("db",), ("db", "upgrade"), ("keys",), ("keys", "create"), ("batch",), ("batch", "reprocess")]


@pytest.mark.parametrize("words", COMMANDS, ids=[" ".join(c) or "vitrina" for c in COMMANDS])
def test_every_command_has_help(words):
    result = CliRunner().invoke(main, [*words, "--help"])
    assert result.exit_code == 0 and "Usage:" in result.output


def test_ingest_process_list_show(run):
    result = run("ingest", str(PHOTOS), "--process")
    assert result.exit_code == 0, result.output
    assert "8 files: 8 new, 0 duplicate, 0 rejected" in result.output
    again = run("ingest", str(PHOTOS / "coffee.png"))
    assert "1 files: 0 new, 1 duplicate, 0 rejected" in again.output
    listing = run("assets", "ls").output.splitlines()
    assert len(listing) == 9 and all(" ready " in line for line in listing[1:])
    asset_id = listing[1].split()[0]
    shown = json.loads(run("assets", "show", asset_id).output)
    assert shown["status"] == "ready" and shown["derivatives"] and "phash" in shown["signals"]
    assert run("batch", "stale").output.strip() == "nothing is stale"


def test_ingest_reports_rejections_with_codes(run):
    result = run("ingest", str(HOSTILE / "truncated.jpg"), str(HOSTILE / "text.jpg"), str(PHOTOS / "camera.png"))
    assert result.exit_code == 1
    assert "corrupt_media" in result.output and "unsupported_media_type" in result.output
    assert "3 files: 1 new, 0 duplicate, 2 rejected" in result.output


def test_missing_path_is_a_usage_error(run):
    result = run("ingest", "/no/such/file.jpg")
    assert result.exit_code == 2 and "does not exist" in result.output


def test_keys_lifecycle(run):
    key = run("keys", "create", "ci", "--scope", "write").output.strip()
    assert key.startswith("vk_")
    key_id = key.split("_")[1]
    assert "active" in run("keys", "ls").output
    assert run("keys", "revoke", key_id).exit_code == 0
    assert "revoked" in run("keys", "ls").output
    assert run("keys", "revoke", "nope").exit_code == 1


def test_bad_setting_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("VITRINA_DEV", "1")
    monkeypatch.setenv("VITRINA_SERVER__PORT", "99999")
    result = CliRunner().invoke(main, ["db", "upgrade"])
    assert result.exit_code == 1 and "VITRINA_SERVER__PORT" in result.output


def test_show_of_an_unknown_or_malformed_id_is_a_clear_error(run):
    for asset_id in ("0123456789abcdef0123456789abcdef", "../etc/passwd"):
        result = run("assets", "show", asset_id)
        assert result.exit_code == 1 and f"no asset {asset_id!r}" in result.output


def test_commands_never_import_the_api():
    import ast
    from pathlib import Path

    import vitrina.cli

    for path in Path(vitrina.cli.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            assert not any(n == "vitrina.api" or n.startswith("vitrina.api.") for n in names), path


def test_a_newer_analyser_is_stale_alone_and_backfilled(run):
    assert run("ingest", str(PHOTOS / "coffee.png"), str(PHOTOS / "rocket.jpg"), "--process").exit_code == 0
    newer = ("tests.pipeline.newer_phash",)
    assert run("batch", "stale", plugins=newer).output.splitlines() == ["analyser phash: 2 stale"]
    done = run("batch", "reprocess", "--analyser", "phash", plugins=newer)
    assert done.exit_code == 0 and "recomputed 2 analyser results" in done.output
    assert run("batch", "stale", plugins=newer).output.strip() == "nothing is stale"
    # without the plug-in, version 99 is not the current one: stale again, nothing else
    assert run("batch", "stale").output.splitlines() == ["analyser phash: 2 stale"]
    unknown = run("batch", "reprocess", "--analyser", "nope")
    assert unknown.exit_code == 1 and "no analyser named 'nope'" in unknown.output
