"""The project service on SQLite and PostgreSQL: create, read, rename, quota overrides,
delete (only when empty, never the default project), and project URL signing keys."""

from __future__ import annotations

import pytest

from tests.conftest import PHOTOS
from vitrina.access.keys import create_key, verify_key
from vitrina.errors import Conflict, InvalidInput, NotFound, Unauthorized
from vitrina.experiments_service import ExperimentService
from vitrina.projects import service as project_service
from vitrina.projects.service import QUOTA_KEYS, ProjectService
from vitrina.storage.catalog.projects import DEFAULT_PROJECT


@pytest.fixture
def projects(runtime) -> ProjectService:
    return runtime.projects


def _error(call, *args, **kwargs):
    with pytest.raises((InvalidInput, NotFound, Conflict)) as info:
        call(*args, **kwargs)
    return info.value


def test_create_get_list_rename_delete(projects):
    made = projects.create("shop-front", "Shop front", quotas={"max_assets": 10})
    assert (made.id, made.name, made.quotas) == ("shop-front", "Shop front", {"max_assets": 10})
    assert projects.get("shop-front") == made
    assert projects.create("b2").name == "b2"  # the name defaults to the id
    assert [p.id for p in projects.list()] == ["b2", DEFAULT_PROJECT, "shop-front"]
    renamed = projects.update("shop-front", name="  Shop  ")
    assert renamed.name == "Shop" and renamed.quotas == {"max_assets": 10}
    assert projects.get("shop-front").name == "Shop"
    projects.delete("shop-front")
    assert [p.id for p in projects.list()] == ["b2", DEFAULT_PROJECT]
    assert _error(projects.get, "shop-front").code == "not_found"


@pytest.mark.parametrize("project_id", ["", "A", "Shop", "-shop", "shop_front", "shop front", "shop/x",
                                        "x" * 64, "ünï", "shop\n", 7, None])
def test_a_bad_project_id_is_refused_on_create(projects, project_id):
    error = _error(projects.create, project_id)
    assert (error.status, error.code) == (400, "invalid_project_id")
    assert [p.id for p in projects.list()] == [DEFAULT_PROJECT]


@pytest.mark.parametrize("project_id", ["a", "0", "a-b", "shop--2", "x" * 63, "9-lives"])
def test_good_project_ids(projects, project_id):
    assert projects.create(project_id).id == project_id


def test_twice_the_same_id_is_a_conflict(projects):
    projects.create("shop")
    error = _error(projects.create, "shop", "Another")
    assert (error.status, error.code) == (409, "project_exists")
    assert projects.get("shop").name == "shop"
    assert _error(projects.create, DEFAULT_PROJECT).code == "project_exists"


@pytest.mark.parametrize("project_id", ["nope", "NOPE", "../default", "x" * 200])
def test_unknown_and_impossible_ids_answer_alike(projects, project_id):
    for call, args, kwargs in ((projects.get, (), {}), (projects.update, (), {"name": "x"}),
                               (projects.delete, (), {}), (projects.signing_keys, (), {}),
                               (projects.create_signing_key, (), {}),
                               (projects.current_signing_key, (), {}),
                               (projects.revoke_signing_key, ("k",), {})):
        error = _error(call, project_id, *args, **kwargs)
        assert (error.status, error.code) == (404, "not_found"), call.__name__
        assert error.details == {"project": project_id[:64]}
    assert not projects.exists(project_id)


def test_quota_overrides_merge_and_are_checked(projects):
    projects.create("shop", quotas={"max_bytes": 1000, "max_assets": 5})
    after = projects.update("shop", quotas={"max_assets": None, "uploads_per_minute": 0,
                                            "renders_per_minute": 30})
    assert after.quotas == {"max_bytes": 1000, "renders_per_minute": 30, "uploads_per_minute": 0}
    assert projects.get("shop").quotas == after.quotas
    for bad in ({"max_files": 1}, {"max_bytes": -1}, {"max_bytes": 1.5}, {"max_bytes": "10"},
                {"max_bytes": True}, {"max_assets": [1]}):
        error = _error(projects.update, "shop", quotas=bad)
        assert (error.status, error.code) == (400, "invalid_quota"), bad
        assert _error(projects.create, "other", quotas=bad).code == "invalid_quota"
    assert projects.get("shop").quotas == after.quotas  # a refused change changed nothing
    assert not projects.exists("other")
    assert set(QUOTA_KEYS) == {"max_bytes", "max_assets", "uploads_per_minute", "renders_per_minute"}


@pytest.mark.parametrize("name", ["", "   ", "x" * 256, 12])
def test_a_bad_name_is_refused(projects, name):
    assert _error(projects.create, "shop", name).code == "invalid_input"
    projects.create("shop")
    assert _error(projects.update, "shop", name=name).code == "invalid_input"
    assert projects.get("shop").name == "shop"


def test_the_default_project_cannot_be_deleted(projects):
    error = _error(projects.delete, DEFAULT_PROJECT)
    assert (error.status, error.code) == (409, "default_project")
    assert projects.exists(DEFAULT_PROJECT)


def test_a_project_holding_data_is_not_deleted(runtime, projects):
    projects.create("shop")
    asset = runtime.ingestor.ingest_file(PHOTOS / "coffee.png", project="shop").asset_id
    error = _error(projects.delete, "shop")
    assert (error.status, error.code) == (409, "project_not_empty")
    assert error.details == {"project": "shop", "assets": 1}
    runtime.assets.delete("shop", asset)
    projects.delete("shop")  # empty now

    experiments = ExperimentService(runtime.sessions)
    projects.create("lab")
    experiments.create("lab", {"key": "hero", "variants": [{"key": "control"}, {"key": "b"}]})
    assert _error(projects.delete, "lab").details == {"project": "lab", "experiments": 1}

    projects.create("logs")
    experiments.log_events("logs", [{"unit_id": "u1", "event": "buy", "value": 1.0}])
    assert _error(projects.delete, "logs").details == {"project": "logs", "events": 1}
    assert projects.exists("logs")


def test_deleting_a_project_removes_its_keys(runtime, projects):
    projects.create("shop")
    token = create_key(runtime.sessions, "shop admin", ["admin"], "shop")
    signing = projects.create_signing_key("shop")
    other = create_key(runtime.sessions, "default reader", ["read"])
    projects.delete("shop")
    with pytest.raises(Unauthorized):
        verify_key(runtime.sessions, token)
    assert verify_key(runtime.sessions, other).project_id == DEFAULT_PROJECT
    assert signing.id not in {k.id for k in projects.active_signing_keys()}
    projects.create("shop")  # the id is free again, with nothing of the old project
    assert projects.signing_keys("shop") == []


def test_signing_keys_rotate_and_revoke(projects):
    projects.create("shop")
    projects.create("blog")
    assert _error(projects.current_signing_key, "shop").code == "no_signing_key"
    first = projects.create_signing_key("shop")
    second = projects.create_signing_key("shop")
    blog = projects.create_signing_key("blog")
    assert len({first.id, second.id, blog.id}) == 3
    assert len(first.secret) >= 32 and first.secret not in repr(first)
    assert projects.current_signing_key("shop").id == second.id  # the newest signs
    listed = projects.signing_keys("shop")
    assert [k.id for k in listed] == [first.id, second.id]
    assert all(not hasattr(k, "secret") for k in listed)
    # another project's key is as missing as an unknown one
    assert _error(projects.revoke_signing_key, "shop", blog.id).code == "not_found"
    assert _error(projects.revoke_signing_key, "shop", "0" * 16).code == "not_found"
    revoked = projects.revoke_signing_key("shop", second.id)
    assert revoked.revoked_at is not None
    assert projects.revoke_signing_key("shop", second.id).revoked_at == revoked.revoked_at
    assert projects.current_signing_key("shop").id == first.id
    active = {(k.id, k.project_id) for k in projects.active_signing_keys()}
    assert active == {(first.id, "shop"), (blog.id, "blog")}
    projects.revoke_signing_key("shop", first.id)
    assert _error(projects.current_signing_key, "shop").code == "no_signing_key"


def test_the_default_project_signs_with_the_settings_keys(projects):
    error = _error(projects.create_signing_key, DEFAULT_PROJECT)
    assert error.status == 400 and "VITRINA_SIGNING__KEYS" in error.message


def test_a_new_key_never_takes_a_settings_key_id(runtime, monkeypatch):
    projects = ProjectService(runtime.sessions, reserved_key_ids=frozenset({"k1", "k2"}))
    projects.create("shop")
    ids = iter(["k1", "k2", "0123456789abcdef"])
    monkeypatch.setattr(project_service.secrets, "token_hex", lambda n: next(ids))
    assert projects.create_signing_key("shop").id == "0123456789abcdef"


def test_the_runtime_reserves_the_settings_key_ids(tmp_path, database_url):
    from tests.conftest import make_settings
    from vitrina.runtime import Runtime

    settings = make_settings(tmp_path, database_url, signing={"keys": {"k1": "x" * 20}})
    assert Runtime(settings).projects.reserved_key_ids == frozenset({"k1"})
