"""/v1/brand-kits and /v1/templates: validated whole, versioned, read back by version,
refused with the documents' own codes (and nothing written), another project's
invisible."""

from __future__ import annotations

import json
from importlib import resources

import pytest
from fastapi.testclient import TestClient

from tests.conftest import make_settings
from tests.creative.conftest import LOGO, bearer, kit
from vitrina.api.app import create_app
from vitrina.testing import make_runtime


def hero():
    text = resources.files("vitrina.creative").joinpath("templates/hero.json").read_text()
    return {k: v for k, v in json.loads(text).items() if k not in ("id", "version")}


@pytest.fixture
def api(two_projects):
    settings, rt = two_projects
    as_a = bearer(rt, "a", ["write"])
    as_b = bearer(rt, "b", ["write"], "team-b")
    reader = bearer(rt, "r", ["read"])
    with TestClient(create_app(settings, start_workers=False, runtime=rt)) as client:
        yield client, as_a, as_b, reader


def test_brand_kits_and_templates_are_versioned(api) -> None:
    client, as_a, as_b, reader = api
    r = client.put("/v1/brand-kits/demo", json=kit(), headers=as_a)
    assert (r.status_code, r.json()["version"]) == (201, 1), r.text
    assert client.put("/v1/brand-kits/demo", json=kit(), headers=as_a).status_code == 200
    r = client.put("/v1/brand-kits/demo", json=kit(min_contrast=7), headers=as_a)
    assert (r.status_code, r.json()["version"]) == (201, 2)
    assert client.get("/v1/brand-kits/demo", headers=reader).json()["document"]["min_contrast"] == 7
    assert "min_contrast" not in client.get("/v1/brand-kits/demo", params={"version": 1},
                                            headers=reader).json()["document"]
    r = client.put("/v1/templates/hero", json=hero(), headers=as_a)
    assert (r.status_code, r.json()["version"]) == (201, 1), r.text
    assert [d["id"] for d in client.get("/v1/templates", headers=reader).json()["items"]] == ["hero"]
    # read-only keys read, never write; another project sees nothing
    assert client.put("/v1/templates/hero", json=hero(), headers=reader).status_code == 403
    assert client.get("/v1/brand-kits/demo", headers=as_b).status_code == 404
    assert client.get("/v1/brand-kits", headers=as_b).json()["items"] == []


@pytest.mark.parametrize(("path", "body", "code"), [
    ("/v1/brand-kits/demo", kit(palette={"text": "#000000"}), "invalid_brand_kit"),
    ("/v1/brand-kits/demo", kit(fonts={"headline": "Comic Neue", "body": "Roboto"}), "invalid_brand_kit"),
    ("/v1/brand-kits/demo", kit(palette={"primary": "#113f67", "secondary": "#34699a", "background": "#777777",
                                         "text": "#888888", "accent": "#ffb703"}), "invalid_brand_kit"),
    ("/v1/brand-kits/demo", kit(logo="not base64!"), "invalid_brand_kit"),
    ("/v1/brand-kits/demo", kit(extra=1), "invalid_brand_kit"),
    ("/v1/templates/hero", {"slots": {}}, "invalid_template"),
    ("/v1/templates/bad%20id", hero(), "invalid_document_id"),
])
def test_bad_documents_are_refused_and_nothing_is_written(api, path, body, code) -> None:
    client, as_a, _, reader = api
    r = client.put(path, json=body, headers=as_a)
    assert (r.status_code, r.json()["error"]["code"]) == (400, code), r.text
    kind = path.split("/")[2]
    assert client.get(f"/v1/{kind}", headers=reader).json()["items"] == []


def test_unknown_documents_and_versions(api) -> None:
    client, as_a, _, reader = api
    assert client.get("/v1/templates/nope", headers=reader).json()["error"]["code"] == "not_found"
    client.put("/v1/templates/hero", json=hero(), headers=as_a)
    r = client.get("/v1/templates/hero", params={"version": 2}, headers=reader)
    assert (r.status_code, r.json()["error"]["code"]) == (404, "not_found")
    assert client.put("/v1/templates/hero", content=b"[1, 2]", headers=as_a).status_code == 400


def test_cli_put_and_ls(tmp_path) -> None:
    from click.testing import CliRunner

    from vitrina.cli import main

    settings = make_settings(tmp_path, f"sqlite:///{tmp_path / 'catalog.db'}")
    make_runtime(settings).close()
    (tmp_path / "kit.json").write_text(json.dumps({k: v for k, v in kit().items() if k != "logo"}))
    (tmp_path / "hero.json").write_text(json.dumps(hero()))

    def run(*args):
        return CliRunner().invoke(main, [str(a) for a in args], obj=settings, catch_exceptions=False)

    first = run("creative", "put", "brand-kit", "demo", tmp_path / "kit.json", "--logo", LOGO)
    assert first.exit_code == 0, first.output
    assert first.stdout.startswith("brand-kit demo v1 (new version, sha256 ")
    assert run("creative", "put", "brand-kit", "demo", tmp_path / "kit.json", "--logo", LOGO
               ).stdout.startswith("brand-kit demo v1 (unchanged")
    no_logo = run("creative", "put", "brand-kit", "demo", tmp_path / "kit.json")
    assert no_logo.exit_code != 0 and "(field logo) (400 invalid_brand_kit)" in no_logo.output
    assert run("creative", "put", "template", "hero", tmp_path / "hero.json").exit_code == 0
    assert run("creative", "ls", "template").stdout.split()[:2] == ["hero", "v1"]
    (tmp_path / "list.json").write_text("[1]")
    assert run("creative", "put", "template", "x", tmp_path / "list.json").exit_code == 2
