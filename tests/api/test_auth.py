"""API keys and scopes outside development mode."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.conftest import PHOTOS, make_settings
from vitrina.access.keys import create_key
from vitrina.api.app import create_app
from vitrina.runtime import Runtime
from vitrina.storage.catalog.db import upgrade

KEYS = {"k1": "a-long-random-signing-secret"}


@pytest.fixture
def prod(tmp_path, database_url):
    settings = make_settings(tmp_path, database_url, dev=False, signing={"keys": KEYS})
    upgrade(Runtime(settings).engine)
    app = create_app(settings, start_workers=False)
    with TestClient(app) as c:
        c.sessions = app.state.runtime.sessions
        yield c


def _post(c, headers):
    return c.post("/v1/assets", files={"file": ("a.png", (PHOTOS / "astronaut.png").read_bytes())}, headers=headers)


def test_keys_and_scopes(prod):
    assert prod.get("/v1/assets").status_code == 401
    assert prod.get("/v1/assets").json()["error"]["code"] == "unauthorized"
    assert prod.get("/v1/assets", headers={"Authorization": "Bearer vk_nope_nope"}).status_code == 401
    assert prod.get("/v1/assets", headers={"Authorization": "Bearer garbage"}).status_code == 401
    reader = create_key(prod.sessions, "reader", ["read"])
    writer = create_key(prod.sessions, "writer", ["write"])
    assert prod.get("/v1/assets", headers={"Authorization": f"Bearer {reader}"}).status_code == 200
    denied = _post(prod, {"Authorization": f"Bearer {reader}"})
    assert denied.status_code == 403 and denied.json()["error"]["code"] == "forbidden"
    assert prod.get("/v1/assets").json()["error"]["code"] == "unauthorized"
    ok = _post(prod, {"X-API-Key": writer})
    assert ok.status_code == 201
    # a wrong key changed nothing, the right one made exactly one asset
    assert len(prod.get("/v1/assets", headers={"X-API-Key": writer}).json()["items"]) == 1
    # a forged secret for a real key id is refused
    key_id = writer.split("_")[1]
    assert prod.get("/v1/assets", headers={"X-API-Key": f"vk_{key_id}_forged"}).status_code == 401


def test_health_needs_no_key(prod):
    assert prod.get("/healthz").status_code == 200


def test_the_org_scope_manages_projects_and_reads_no_data(prod):
    org = {"X-API-Key": create_key(prod.sessions, "org", ["org"])}
    admin = {"X-API-Key": create_key(prod.sessions, "admin", ["admin"])}
    assert prod.post("/v1/projects", json={"id": "shop"}, headers=org).status_code == 201
    assert prod.post("/v1/projects", json={"id": "blog"}, headers=admin).status_code == 403
    assert prod.get("/v1/assets", headers=org).status_code == 403
    assert prod.get("/v1/assets", headers=admin).status_code == 200
    shop = prod.post("/v1/projects/shop/keys", json={"name": "w", "scopes": ["write"]}, headers=org).json()
    assert _post(prod, {"X-API-Key": shop["key"]}).status_code == 201  # lands in shop
    assert prod.get("/v1/assets", headers=admin).json()["items"] == []
    assert len(prod.get("/v1/assets", headers={"X-API-Key": shop["key"]}).json()["items"]) == 1


def test_development_mode_is_an_organisation_admin(client):
    assert client.post("/v1/projects", json={"id": "shop"}).status_code == 201
    assert [p["id"] for p in client.get("/v1/projects").json()["items"]] == ["default", "shop"]
    key = client.post("/v1/projects/shop/keys", json={"name": "w", "scopes": ["write"]}).json()["key"]
    assert _post(client, {"X-API-Key": key}).status_code == 201
    assert client.get("/v1/assets").json()["items"] == []  # no key: the default project
