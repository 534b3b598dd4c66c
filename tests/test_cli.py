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
           "VITRINA_DERIVATIVES__FORMATS": '["webp","jpeg"]',
           "VITRINA_ANALYSIS__MODELS": "[]"}  # as in make_settings: no OCR or torch per ingest
    runner = CliRunner()

    def invoke(*args: str, plugins: tuple[str, ...] = ()):
        return runner.invoke(main, list(args), env=env | {"VITRINA_PLUGINS": json.dumps(plugins)},
                             catch_exceptions=False)

    assert invoke("db", "upgrade").exit_code == 0
    return invoke


COMMANDS = [(), ("serve",), ("worker",), ("ingest",), ("assets",), ("assets", "ls"), ("assets", "show"),
            ("assets", "wait"), ("assets", "duplicates"),
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


PROJECT_COMMANDS = [("projects",), ("projects", "create"), ("projects", "ls"), ("projects", "show"),
                    ("projects", "rename"), ("projects", "set-quota"), ("projects", "delete"), ("projects", "usage"),
                    ("projects", "signing-key"), ("projects", "signing-key", "create"),
                    ("projects", "signing-key", "ls"), ("projects", "signing-key", "revoke"),
                    ("keys", "ls"), ("keys", "revoke"), ("url",)]


@pytest.mark.parametrize("words", PROJECT_COMMANDS, ids=[" ".join(c) for c in PROJECT_COMMANDS])
def test_every_projects_command_has_help(words):
    result = CliRunner().invoke(main, [*words, "--help"])
    assert result.exit_code == 0 and "Usage:" in result.output


def test_projects_lifecycle(run):
    assert run("projects", "create", "shop", "--name", "Shop front").output.strip() == "created shop"
    assert run("projects", "create", "blog").exit_code == 0
    bad = run("projects", "create", "Shop_Front")
    assert bad.exit_code == 1 and "invalid_project_id" in bad.output
    again = run("projects", "create", "shop")
    assert again.exit_code == 1 and "project_exists" in again.output
    listing = run("projects", "ls").output.splitlines()
    assert [line.split()[0] for line in listing[1:]] == ["blog", "default", "shop"]
    quotas = run("projects", "set-quota", "shop", "max_assets=100", "max_bytes=5000")
    assert json.loads(quotas.output) == {"max_assets": 100, "max_bytes": 5000}
    assert json.loads(run("projects", "set-quota", "shop", "max_bytes=").output) == {"max_assets": 100}
    assert run("projects", "set-quota", "shop", "max_assets=lots").exit_code == 2
    assert run("projects", "set-quota", "shop", "max_assets").exit_code == 2
    unknown = run("projects", "set-quota", "shop", "max_files=1")
    assert unknown.exit_code == 1 and "invalid_quota" in unknown.output
    assert run("projects", "rename", "shop", "The shop").exit_code == 0
    shown = json.loads(run("projects", "show", "shop").output)
    assert (shown["id"], shown["name"], shown["quotas"]) == ("shop", "The shop", {"max_assets": 100})
    assert "shop  " in run("projects", "ls").output and "max_assets=100" in run("projects", "ls").output
    assert run("ingest", str(PHOTOS / "coffee.png")).exit_code == 0  # into the default project
    kept = run("projects", "delete", "default")
    assert kept.exit_code == 1 and "default_project" in kept.output
    assert run("projects", "delete", "blog").output.strip() == "deleted blog"
    missing = run("projects", "show", "blog")
    assert missing.exit_code == 1 and "not_found" in missing.output


def test_keys_in_a_project(run):
    assert run("projects", "create", "shop").exit_code == 0
    key = run("keys", "create", "ci", "--scope", "write", "--project", "shop").output.strip()
    assert key.startswith("vk_")
    assert run("keys", "create", "boss", "--scope", "org").output.startswith("vk_")
    mine = run("keys", "ls", "--project", "shop").output.splitlines()
    assert len(mine) == 1 and " shop " in mine[0] and " ci " in mine[0] and "write" in mine[0]
    assert len(run("keys", "ls").output.splitlines()) == 2
    nowhere = run("keys", "create", "x", "--project", "nope")
    assert nowhere.exit_code == 1 and "not_found" in nowhere.output
    org = run("keys", "create", "x", "--scope", "org", "--project", "shop")
    assert org.exit_code == 1 and "invalid_scope" in org.output


def test_url_signed_with_a_projects_key(run):
    from vitrina.delivery import Signer

    asset = "0123456789abcdef0123456789abcdef"
    assert run("url", asset, "w_100").output.strip() == f"/img/_/w_100/{asset}"  # as before
    assert run("url", asset, "w_100", "--project", "default").output.strip() == f"/img/_/w_100/{asset}"
    assert run("projects", "create", "shop").exit_code == 0
    none = run("url", asset, "w_100", "--project", "shop")
    assert none.exit_code == 1 and "no_signing_key" in none.output
    assert run("url", asset, "w_100", "--project", "nope").exit_code == 1
    first_id, _ = run("projects", "signing-key", "create", "shop").output.split()
    key_id, secret = run("projects", "signing-key", "create", "shop").output.split()
    url = run("url", asset, "h_50,w_100", "--project", "shop").output.strip()
    assert url.startswith(f"/img/{key_id}.")  # the newest key signs
    signature, signed = url.split("/", 3)[2], url.split("/", 3)[3]
    assert Signer({key_id: secret}).verify(signature, signed, 0) == key_id
    srcset = run("url", asset, "w_100", "--project", "shop", "--srcset", "100,200").output
    assert srcset.count(f"/img/{key_id}.") == 2
    listed = run("projects", "signing-key", "ls", "shop").output.splitlines()
    assert [line.split()[0] for line in listed] == [first_id, key_id]
    assert run("projects", "signing-key", "revoke", "shop", key_id).exit_code == 0
    assert "revoked" in run("projects", "signing-key", "ls", "shop").output.splitlines()[1]
    assert run("url", asset, "w_100", "--project", "shop").output.startswith(f"/img/{first_id}.")
    other = run("projects", "signing-key", "revoke", "shop", "0000000000000000")
    assert other.exit_code == 1 and "not_found" in other.output
    default = run("projects", "signing-key", "create", "default")
    assert default.exit_code == 1 and "VITRINA_SIGNING__KEYS" in default.output


def test_ingest_without_r_names_what_it_skipped_in_subdirectories(run, tmp_path):
    import shutil

    top = tmp_path / "shoot"
    (top / "day1").mkdir(parents=True)
    shutil.copy(PHOTOS / "rocket.jpg", top / "day1" / "rocket.jpg")
    shutil.copy(PHOTOS / "coffee.png", top / "day1" / "coffee.png")
    (top / "notes.txt").write_text("not media")
    flat = run("ingest", str(top))
    assert flat.exit_code == 0
    assert "0 files: 0 new" in flat.output
    assert "skipped 2 files in subdirectories: add -r to ingest them too" in flat.output
    deep = run("ingest", str(top), "-r")
    assert "2 files: 2 new" in deep.output and "skipped" not in deep.output


def test_assets_rm(run):
    assert run("ingest", str(PHOTOS / "rocket.jpg"), str(PHOTOS / "coffee.png")).exit_code == 0
    ids = [line.split()[0] for line in run("assets", "ls").output.splitlines()[1:]]
    unknown = "0123456789abcdef0123456789abcdef"
    result = run("assets", "rm", ids[0], unknown, "not-an-id")
    assert result.exit_code == 1
    assert f"deleted {ids[0]}" in result.output
    assert f"not found in project default: {unknown} not-an-id" in result.output
    assert [line.split()[0] for line in run("assets", "ls").output.splitlines()[1:]] == ids[1:]
    assert run("assets", "rm", ids[1], "--project", "nope").exit_code == 1  # another project's: not found
    assert run("assets", "rm", ids[1]).output.strip() == f"deleted {ids[1]}"
    assert run("assets", "ls").output.count("\n") == 1


def test_url_expires_without_a_signing_key_says_what_to_do(run):
    asset = "0123456789abcdef0123456789abcdef"
    result = run("url", asset, "w_100", "--expires", "60")
    assert result.exit_code == 2
    assert "--expires needs a signing key" in result.output and "VITRINA_SIGNING__KEYS" in result.output


def test_settings_file_in_the_data_dir_is_read_and_the_environment_wins(monkeypatch, tmp_path):
    import os

    from vitrina.config import default_config_file, load_settings

    for name in [n for n in os.environ if n.startswith("VITRINA_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("VITRINA_DATA_DIR", str(tmp_path))
    assert default_config_file() == tmp_path / "vitrina.toml"
    (tmp_path / "vitrina.toml").write_text('dev = true\n[signing]\nkeys = {k1 = "a-long-random-signing-secret"}\n')
    s = load_settings()
    assert s.dev and s.signing.keys == {"k1": "a-long-random-signing-secret"}
    assert s.config_file == tmp_path / "vitrina.toml"
    monkeypatch.setenv("VITRINA_DEV", "0")
    assert not load_settings().dev  # the environment wins
    other = tmp_path / "other.toml"
    other.write_text("dev = true\n")
    monkeypatch.setenv("VITRINA_CONFIG_FILE", str(other))
    monkeypatch.delenv("VITRINA_DEV")
    assert load_settings().signing.keys == {}  # a named file replaces it


def test_a_catalog_never_created_is_one_line_and_makes_nothing(monkeypatch, tmp_path):
    import os

    for name in [n for n in os.environ if n.startswith("VITRINA_")]:
        monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    env = {"VITRINA_DEV": "1"}
    for args in (("assets", "ls"), ("keys", "ls"), ("exp", "ls"), ("worker",)):
        result = CliRunner().invoke(main, list(args), env=env)
        assert result.exit_code == 1, result.output
        assert result.output.count("\n") == 1 and "run `vitrina db upgrade`" in result.output
        assert "Traceback" not in result.output
    assert list(tmp_path.iterdir()) == []  # no empty var/
    assert CliRunner().invoke(main, ["db", "upgrade"], env=env).exit_code == 0
    assert CliRunner().invoke(main, ["assets", "ls"], env=env).exit_code == 0


def test_wait_reports_each_step_and_exits_by_the_outcome(run):
    from tests.conftest import VIDEO

    bikes = str(VIDEO / "bikes.mp4")
    assert run("ingest", bikes).exit_code == 0
    video_id = run("assets", "ls").output.splitlines()[1].split()[0]
    waited = run("assets", "wait", video_id, "--timeout", "0")
    assert waited.exit_code == 2 and f"{video_id} pending" in waited.output and "still pending" in waited.output
    assert run("ingest", bikes, "--process").exit_code == 0
    waited = run("assets", "wait", video_id)
    assert waited.exit_code == 0, waited.output
    lines = waited.output.splitlines()
    assert lines[0] == f"{video_id} ready"
    assert [line.split()[:2] for line in lines[1:]] == [
        ["probe", "done"], ["poster", "done"], ["renditions", "done"], ["storyboard", "done"]]
    unknown = run("assets", "wait", "0" * 32)
    assert unknown.exit_code == 1 and "not_found" in unknown.output


METADATA_COMMANDS = [("assets", "edit"), ("collections",), ("collections", "create"), ("collections", "ls"),
                     ("collections", "show"), ("collections", "add"), ("collections", "rm"),
                     ("collections", "delete")]


@pytest.mark.parametrize("words", METADATA_COMMANDS, ids=[" ".join(c) for c in METADATA_COMMANDS])
def test_every_metadata_and_collections_command_has_help_and_a_project(words):
    result = CliRunner().invoke(main, [*words, "--help"])
    assert result.exit_code == 0 and "Usage:" in result.output
    assert "--project" in result.output or len(words) == 1


def test_edit_metadata_and_collections(run):
    assert run("ingest", str(PHOTOS / "coffee.png")).exit_code == 0
    asset_id = run("assets", "ls").output.splitlines()[1].split()[0]
    edited = run("assets", "edit", asset_id, "--title", "Coffee", "--tag", " Cup", "--tag", "morning",
                 "--field", "iso=200", "--field", "lens=50mm", "--field", "flash=false")
    assert edited.exit_code == 0, edited.output
    assert json.loads(edited.output) == {"id": asset_id, "title": "Coffee", "alt_text": None,
                                         "tags": ["cup", "morning"], "metadata_version": 1,
                                         "fields": {"iso": 200, "lens": "50mm", "flash": False}}
    again = json.loads(run("assets", "edit", asset_id, "--clear-title", "--remove-field", "iso").output)
    assert (again["title"], again["fields"], again["tags"]) == (None, {"lens": "50mm", "flash": False},
                                                                 ["cup", "morning"])
    bad = run("assets", "edit", asset_id, "--field", "Bad Key=1")
    assert bad.exit_code == 1 and "invalid_metadata" in bad.output
    assert json.loads(run("assets", "show", asset_id).output)["fields"] == {"lens": "50mm", "flash": False}

    collection_id = run("collections", "create", "Picks", "--description", "the best").output.strip()
    assert run("collections", "create", "Picks").exit_code == 1
    assert run("collections", "add", collection_id, asset_id, asset_id).exit_code == 0
    listed = run("collections", "ls").output.splitlines()
    assert listed[1].split() == [collection_id, "1", "Picks"]
    shown = json.loads(run("collections", "show", collection_id).output)
    assert (shown["name"], shown["assets"]) == ("Picks", [asset_id])
    missing = run("collections", "add", collection_id, "0" * 32)
    assert missing.exit_code == 1 and "0" * 32 in missing.output
    assert run("collections", "show", collection_id, "--project", "nope").exit_code == 1  # not that project's
    assert run("collections", "rm", collection_id, asset_id).exit_code == 0
    assert json.loads(run("collections", "show", collection_id).output)["assets"] == []
    assert run("collections", "delete", collection_id).output.strip() == f"deleted {collection_id}"
    assert run("collections", "show", collection_id).exit_code == 1
