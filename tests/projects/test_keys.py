"""Who may manage projects and keys, on SQLite and PostgreSQL: the organisation admin
(scope org) everywhere; a project admin its own project's keys only (every other
project answers as a missing one); lower scopes nothing. API keys of one project
never see another project's assets."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.conftest import PHOTOS, make_settings
from vitrina.access.keys import DEV_PRINCIPAL, ORG, Principal, create_key, list_keys
from vitrina.api.app import create_app
from vitrina.errors import InvalidInput, NotFound
from vitrina.runtime import Runtime
from vitrina.storage.catalog.db import upgrade
from vitrina.storage.catalog.projects import DEFAULT_PROJECT

B = "team-b"


class World:
    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.rt: Runtime = client.app.state.runtime
        self.rt.projects.create(B, "Team B")
        self.tokens = {
            "org": create_key(self.rt.sessions, "org", [ORG]),
            "admin": create_key(self.rt.sessions, "a-admin", ["admin"]),
            "write": create_key(self.rt.sessions, "a-writer", ["write"]),
            "b-admin": create_key(self.rt.sessions, "b-admin", ["admin"], B),
            "b-read": create_key(self.rt.sessions, "b-reader", ["read"], B),
        }

    def call(self, who: str | None, method: str, path: str, **kwargs):
        headers = {} if who is None else {"Authorization": f"Bearer {self.tokens[who]}"}
        return self.client.request(method, path, headers=headers, **kwargs)

    def key_id(self, who: str) -> str:
        return self.tokens[who].split("_")[1]


@pytest.fixture
def world(tmp_path, database_url):
    settings = make_settings(tmp_path, database_url, dev=False,
                             signing={"keys": {"k1": "a-long-random-signing-secret"}})
    upgrade(Runtime(settings).engine)
    with TestClient(create_app(settings, start_workers=False)) as client:
        yield World(client)


def _code(r) -> tuple[int, str]:
    return r.status_code, r.json()["error"]["code"]


#: every route under /v1/projects/{project_id}, with a body that would be valid
PROJECT_ROUTES = [
    ("GET", "/v1/projects/{p}", None),
    ("PATCH", "/v1/projects/{p}", {"name": "renamed"}),
    ("DELETE", "/v1/projects/{p}", None),
    ("POST", "/v1/projects/{p}/keys", {"name": "new", "scopes": ["read"]}),
    ("GET", "/v1/projects/{p}/keys", None),
    ("DELETE", "/v1/projects/{p}/keys/0123456789abcdef", None),
    ("POST", "/v1/projects/{p}/signing-keys", None),
    ("GET", "/v1/projects/{p}/signing-keys", None),
    ("DELETE", "/v1/projects/{p}/signing-keys/0123456789abcdef", None),
]


def test_the_organisation_admin_manages_every_project(world):
    r = world.call("org", "POST", "/v1/projects", json={"id": "shop", "name": "Shop",
                                                       "quotas": {"max_assets": 100}})
    assert r.status_code == 201 and r.headers["location"] == "/v1/projects/shop"
    assert r.json()["quotas"] == {"max_assets": 100}
    assert _code(world.call("org", "POST", "/v1/projects", json={"id": "Bad Id"})) == (400, "invalid_project_id")
    assert _code(world.call("org", "POST", "/v1/projects", json={"id": "shop"})) == (409, "project_exists")
    assert _code(world.call("org", "POST", "/v1/projects", json={"id": "x", "quotas": {"max_files": 1}})) \
        == (400, "invalid_quota")
    listed = world.call("org", "GET", "/v1/projects").json()["items"]
    assert [p["id"] for p in listed] == [DEFAULT_PROJECT, "shop", B]
    patched = world.call("org", "PATCH", "/v1/projects/shop",
                         json={"name": "Shop front", "quotas": {"max_assets": None, "max_bytes": 10**9}})
    assert patched.json()["name"] == "Shop front" and patched.json()["quotas"] == {"max_bytes": 10**9}
    assert world.call("org", "GET", "/v1/projects/shop").json() == patched.json()
    assert _code(world.call("org", "PATCH", "/v1/projects/shop", json={"owner": "x"})) == (400, "invalid_input")

    made = world.call("org", "POST", "/v1/projects/shop/keys", json={"name": "ci", "scopes": ["write"]})
    assert made.status_code == 201
    key = made.json()
    assert key["project_id"] == "shop" and key["scopes"] == ["write"] and key["key"].startswith("vk_")
    listed = world.call("org", "GET", "/v1/projects/shop/keys").json()["items"]
    assert [k["id"] for k in listed] == [key["id"]] and "key" not in listed[0]
    assert all("secret" not in k and "secret_sha256" not in k for k in listed)
    # the new key acts in its project
    assert world.client.get("/v1/assets", headers={"X-API-Key": key["key"]}).status_code == 200
    assert world.call("org", "DELETE", f"/v1/projects/shop/keys/{key['id']}").status_code == 204
    assert world.client.get("/v1/assets", headers={"X-API-Key": key["key"]}).status_code == 401

    signing = world.call("org", "POST", "/v1/projects/shop/signing-keys")
    assert signing.status_code == 201 and len(signing.json()["secret"]) >= 32
    listed = world.call("org", "GET", "/v1/projects/shop/signing-keys").json()["items"]
    assert [k["id"] for k in listed] == [signing.json()["id"]] and "secret" not in listed[0]
    assert world.call("org", "DELETE", f"/v1/projects/shop/signing-keys/{listed[0]['id']}").status_code == 204
    assert world.call("org", "GET", "/v1/projects/shop/signing-keys").json()["items"][0]["revoked_at"]
    assert _code(world.call("org", "POST", f"/v1/projects/{DEFAULT_PROJECT}/signing-keys")) == (400, "invalid_input")

    assert world.call("org", "DELETE", "/v1/projects/shop").status_code == 204
    assert _code(world.call("org", "GET", "/v1/projects/shop")) == (404, "not_found")
    assert _code(world.call("org", "DELETE", f"/v1/projects/{DEFAULT_PROJECT}")) == (409, "default_project")


def test_an_organisation_admin_alone_reads_and_writes_no_data(world):
    assert _code(world.call("org", "GET", "/v1/assets")) == (403, "forbidden")
    assert _code(world.call("org", "GET", "/v1/experiments")) == (403, "forbidden")
    both = create_key(world.rt.sessions, "org and admin", [ORG, "admin"])
    assert world.client.get("/v1/assets", headers={"X-API-Key": both}).status_code == 200


def test_a_project_admin_manages_its_own_keys(world):
    me = f"/v1/projects/{B}"
    assert world.call("b-admin", "GET", me).json()["id"] == B
    made = world.call("b-admin", "POST", f"{me}/keys", json={"name": "b ci", "scopes": ["write", "read"]})
    assert made.status_code == 201 and made.json()["scopes"] == ["read", "write"]
    keys = {k["name"] for k in world.call("b-admin", "GET", f"{me}/keys").json()["items"]}
    assert keys == {"b-admin", "b-reader", "b ci"}  # its project's keys only
    assert world.call("b-admin", "DELETE", f"{me}/keys/{made.json()['id']}").status_code == 204
    admin = world.call("b-admin", "POST", f"{me}/keys", json={"name": "b admin 2", "scopes": ["admin"]})
    assert admin.status_code == 201
    # it may not grant org, nor make an org key in a project (org keys are the default's)
    assert _code(world.call("b-admin", "POST", f"{me}/keys", json={"name": "x", "scopes": ["org"]})) \
        == (403, "forbidden")
    assert _code(world.call("org", "POST", f"{me}/keys", json={"name": "x", "scopes": ["org"]})) \
        == (400, "invalid_scope")
    assert _code(world.call("org", "POST", f"{me}/keys", json={"name": "x", "scopes": ["owner"]})) \
        == (400, "invalid_scope")
    # its own project's signing keys too
    signing = world.call("b-admin", "POST", f"{me}/signing-keys")
    assert signing.status_code == 201 and signing.json()["project_id"] == B
    # but not the project itself
    assert _code(world.call("b-admin", "PATCH", me, json={"quotas": {"max_assets": 10**9}})) == (403, "forbidden")
    assert _code(world.call("b-admin", "DELETE", me)) == (403, "forbidden")
    assert _code(world.call("b-admin", "GET", "/v1/projects")) == (403, "forbidden")
    assert _code(world.call("b-admin", "POST", "/v1/projects", json={"id": "mine"})) == (403, "forbidden")
    assert world.rt.projects.get(B).quotas == {}


def test_a_default_project_admin_cannot_touch_org_keys(world):
    org_id = world.key_id("org")
    here = f"/v1/projects/{DEFAULT_PROJECT}"
    assert _code(world.call("admin", "DELETE", f"{here}/keys/{org_id}")) == (403, "forbidden")
    assert _code(world.call("admin", "POST", f"{here}/keys", json={"name": "x", "scopes": ["org"]})) \
        == (403, "forbidden")
    assert world.client.get("/v1/projects", headers={"X-API-Key": world.tokens["org"]}).status_code == 200
    # an org key may revoke another
    spare = create_key(world.rt.sessions, "spare org", [ORG])
    assert world.call("org", "DELETE", f"{here}/keys/{spare.split('_')[1]}").status_code == 204


@pytest.mark.parametrize("method, template, body", PROJECT_ROUTES,
                         ids=[f"{m} {t}" for m, t, _ in PROJECT_ROUTES])
def test_another_project_is_a_missing_one_to_a_project_admin(world, method, template, body):
    theirs = world.call("b-admin", method, template.format(p=DEFAULT_PROJECT), json=body)
    missing = world.call("b-admin", method, template.format(p="no-such-project"), json=body)
    impossible = world.call("b-admin", method, template.format(p="NO_SUCH"), json=body)
    assert _code(theirs) == _code(missing) == _code(impossible) == (404, "not_found")
    assert theirs.json()["error"]["message"] == f"no project '{DEFAULT_PROJECT}'"
    assert missing.json()["error"]["message"] == "no project 'no-such-project'"
    # nothing changed in the default project
    assert {k.name for k in list_keys(world.rt.sessions, DEFAULT_PROJECT)} == {"org", "a-admin", "a-writer"}
    assert world.rt.projects.get(DEFAULT_PROJECT).name == "Default project"


@pytest.mark.parametrize("method, template, body", PROJECT_ROUTES,
                         ids=[f"{m} {t}" for m, t, _ in PROJECT_ROUTES])
@pytest.mark.parametrize("who", ["write", "b-read"])
def test_lower_scopes_are_forbidden_everywhere(world, who, method, template, body):
    for project in (DEFAULT_PROJECT, B, "no-such-project"):
        r = world.call(who, method, template.format(p=project), json=body)
        assert _code(r) == (403, "forbidden"), project
        assert r.json()["error"]["details"] == {"needed": "admin"}
    assert _code(world.call(who, "GET", "/v1/projects")) == (403, "forbidden")
    assert _code(world.call(None, "GET", "/v1/projects")) == (401, "unauthorized")
    assert _code(world.call(None, "GET", f"/v1/projects/{B}/keys")) == (401, "unauthorized")


def test_keys_of_one_project_never_see_anothers_assets(world):
    asset = world.rt.ingestor.ingest_file(PHOTOS / "rocket.jpg").asset_id
    mine = world.call("admin", "GET", f"/v1/assets/{asset}")
    assert mine.status_code == 200
    for who in ("b-admin", "b-read"):
        theirs = world.call(who, "GET", f"/v1/assets/{asset}")
        missing = world.call(who, "GET", "/v1/assets/" + "0" * 32)
        assert _code(theirs) == _code(missing) == (404, "not_found")
        assert world.call(who, "GET", "/v1/assets").json()["items"] == []
        assert _code(world.call(who, "GET", f"/v1/assets/{asset}/original")) == (404, "not_found")
    assert _code(world.call("b-admin", "DELETE", f"/v1/assets/{asset}")) == (404, "not_found")
    assert world.call("admin", "GET", f"/v1/assets/{asset}").status_code == 200
    # B's own upload of the same bytes is B's, and A still sees one asset
    up = world.client.post("/v1/assets", files={"file": ("r.jpg", (PHOTOS / "rocket.jpg").read_bytes())},
                           headers={"X-API-Key": world.tokens["b-admin"]})
    assert up.status_code == 201 and up.json()["id"] != asset
    assert [a["id"] for a in world.call("admin", "GET", "/v1/assets").json()["items"]] == [asset]


def test_a_deleted_projects_keys_stop_working(world):
    world.rt.projects.create("short-lived")
    token = create_key(world.rt.sessions, "x", ["admin"], "short-lived")
    assert world.client.get("/v1/assets", headers={"X-API-Key": token}).status_code == 200
    assert world.call("org", "DELETE", "/v1/projects/short-lived").status_code == 204
    assert world.client.get("/v1/assets", headers={"X-API-Key": token}).status_code == 401


def test_create_key_checks_scopes_and_project(world):
    sessions = world.rt.sessions
    for scopes in ([], ["root"], ["read", "Admin"]):
        with pytest.raises(InvalidInput) as info:
            create_key(sessions, "x", scopes)
        assert info.value.code == "invalid_scope"
    with pytest.raises(InvalidInput, match="default project"):
        create_key(sessions, "x", [ORG], B)
    with pytest.raises(NotFound):
        create_key(sessions, "x", ["read"], "no-such-project")
    with pytest.raises(InvalidInput):
        create_key(sessions, "  ", ["read"])
    assert create_key(sessions, "both", [ORG, "admin", ORG]).startswith("vk_")
    both = next(k for k in list_keys(sessions) if k.name == "both")
    assert both.scopes == ("admin", ORG) and both.project_id == DEFAULT_PROJECT


def test_scopes_rank_within_a_project_and_org_stands_alone():
    org = Principal("k", "org", frozenset({ORG}))
    assert org.allows(ORG) and not any(org.allows(s) for s in ("read", "write", "admin"))
    admin = Principal("k", "admin", frozenset({"admin"}), B)
    assert all(admin.allows(s) for s in ("read", "write", "admin")) and not admin.allows(ORG)
    assert admin.may_manage(B) and not admin.may_manage(DEFAULT_PROJECT)
    assert org.may_manage(B) and org.may_grant([ORG]) and not admin.may_grant(["read", ORG])
    writer = Principal("k", "w", frozenset({"write"}), B)
    assert writer.allows("read") and not writer.allows("admin") and not writer.may_manage(B)
    assert DEV_PRINCIPAL.allows(ORG) and DEV_PRINCIPAL.allows("admin")
    assert DEV_PRINCIPAL.project_id == DEFAULT_PROJECT
