"""URL signing keys per project on /img, on SQLite and PostgreSQL: a key signs for its
own project's assets only (another project's asset answers exactly as a missing one),
the in-memory cache never hands one key's answer to another's URL, revoked keys stop
within the TTL, and the default project's URLs never read the catalog's keys."""

from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient

from tests.conftest import PHOTOS, make_settings
from vitrina.api.app import create_app
from vitrina.delivery import Signer
from vitrina.runtime import Runtime
from vitrina.storage.catalog.db import transaction, upgrade
from vitrina.storage.catalog.projects import DEFAULT_PROJECT, SigningKeyRow

KEYS = {"k1": "a-long-random-signing-secret-1"}
B = "team-b"
MISSING = "0" * 32


class World:
    def __init__(self, client: TestClient, rt: Runtime) -> None:
        self.client, self.rt = client, rt
        self.service = client.app.state.images.service
        self.default = Signer(KEYS, "k1")  # the default project's, from the settings
        self.a = rt.ingestor.ingest_file(PHOTOS / "rocket.jpg").asset_id
        self.b = rt.ingestor.ingest_file(PHOTOS / "coffee.png", project=B).asset_id
        self.b_rocket = rt.ingestor.ingest_file(PHOTOS / "rocket.jpg", project=B).asset_id
        self.key_b = rt.projects.create_signing_key(B)
        self.signer_b = Signer({self.key_b.id: self.key_b.secret}, self.key_b.id)

    def get(self, path: str, **headers: str):
        return self.client.get(path, headers=headers)

    def advance(self, seconds: float) -> None:
        real = time.time
        self.service.clock = lambda: real() + seconds


def _world(tmp_path, database_url, **overrides):
    values = {"dev": False, "signing": {"keys": KEYS, "key_id": "k1"}} | overrides
    settings = make_settings(tmp_path, database_url, **values)
    rt = Runtime(settings)
    upgrade(rt.engine)
    rt.projects.create(B, "Team B")
    return rt


@pytest.fixture
def world(tmp_path, database_url):
    rt = _world(tmp_path, database_url)
    with TestClient(create_app(rt.settings, start_workers=False, runtime=rt)) as client:
        yield World(client, rt)


def same_as_missing(world: World, signer: Signer, asset: str, ops: str, expires: int | None = None,
                    *, hidden: str | None = None, **headers: str) -> dict:
    """``signer``'s URL of ``ops`` on ``asset`` answers exactly as the same URL with the
    ``hidden`` id (default: the asset's; else an overlay's) replaced by a missing one."""
    hidden = hidden or asset
    theirs = signer.url(asset, ops, expires)
    r = world.get(theirs, **headers)
    nothing = world.get(signer.url(asset.replace(hidden, MISSING), ops.replace(hidden, MISSING),
                                   expires), **headers)
    assert r.status_code == nothing.status_code == 404, r.text
    assert r.json()["error"]["code"] == "not_found"
    assert r.text.replace(hidden, MISSING) == nothing.text
    assert dict(r.headers) == dict(nothing.headers) | {"content-length": r.headers["content-length"]}
    return r.json()["error"]


def test_each_projects_key_signs_for_its_own_assets(world: World) -> None:
    assert world.get(world.default.url(world.a, "w_100")).status_code == 200
    own = world.get(world.signer_b.url(world.b, "w_100"))
    assert own.status_code == 200 and own.headers["content-type"] == "image/png"
    # B's key on A's asset, and the default project's key on B's: as if missing
    same_as_missing(world, world.signer_b, world.a, "w_100")
    same_as_missing(world, world.default, world.b, "w_100")
    same_as_missing(world, world.signer_b, world.a, "w_100", int(time.time()) + 60)
    # a key of a third project neither
    world.rt.projects.create("team-c")
    key_c = world.rt.projects.create_signing_key("team-c")
    world.advance(1.5)  # past the unknown-key retry, so the new key is read
    signer_c = Signer({key_c.id: key_c.secret})
    assert world.get(signer_c.url(world.b, "w_100")).status_code == 404
    assert world.get(signer_c.url(world.a, "w_100")).status_code == 404


def test_a_known_etag_reveals_nothing_across_projects(world: World) -> None:
    mine = world.get(world.default.url(world.a, "w_120"))
    assert mine.status_code == 200
    etag = mine.headers["etag"]
    assert world.get(world.default.url(world.a, "w_120"), **{"If-None-Match": etag}).status_code == 304
    # the same result's ETag sent with B's key on A's asset: no 304, a 404 like any other
    same_as_missing(world, world.signer_b, world.a, "w_120", **{"If-None-Match": etag})


def test_the_memory_cache_never_answers_another_projects_url(world: World) -> None:
    service = world.service
    for ops in ("w_140", "w_140,f_auto"):
        mine = world.default.url(world.a, ops)
        assert world.get(mine, accept="image/webp").status_code == 200
        hits = service.stats.memory_hits
        assert world.get(mine, accept="image/webp").status_code == 200
        assert service.stats.memory_hits == hits + 1  # it is in memory under its own path
        theirs = world.signer_b.url(world.a, ops)
        assert mine.split("/", 3)[3] == theirs.split("/", 3)[3]  # same ops and asset
        same_as_missing(world, world.signer_b, world.a, ops, accept="image/webp")
        assert service.stats.memory_hits == hits + 1  # nor from memory, nor left there
        assert service.memory.get(theirs.encode()) is None
        # B's copy of the same bytes is B's own asset: its URL works, signed by B
        assert world.get(world.signer_b.url(world.b_rocket, ops), accept="image/webp").status_code == 200
        same_as_missing(world, world.default, world.b_rocket, ops, accept="image/webp")


def test_a_revoked_key_stops_within_the_ttl(world: World) -> None:
    service = world.service
    url = world.signer_b.url(world.b, "w_90")
    assert world.get(url).status_code == 200
    hits = service.stats.memory_hits
    assert world.get(url).status_code == 200 and service.stats.memory_hits == hits + 1
    second = world.rt.projects.create_signing_key(B)  # rotation: both verify, the newest signs
    assert world.rt.projects.current_signing_key(B).id == second.id
    world.rt.projects.revoke_signing_key(B, world.key_b.id)
    ttl = world.rt.settings.delivery.signing_keys_ttl_seconds
    assert ttl == 10.0
    # within the TTL this process may still serve it (documented) ...
    assert world.get(url).status_code == 200
    # ... and past it, neither from memory nor otherwise
    world.advance(ttl + 0.5)
    r = world.get(url)
    assert (r.status_code, r.json()["error"]["code"]) == (403, "unknown_key")
    assert world.get(Signer({second.id: second.secret}).url(world.b, "w_90")).status_code == 200
    assert service.stats.memory_hits == hits + 2


def test_with_no_ttl_revocation_is_immediate(tmp_path, database_url) -> None:
    rt = _world(tmp_path, database_url, delivery={"signing_keys_ttl_seconds": 0})
    with TestClient(create_app(rt.settings, start_workers=False, runtime=rt)) as client:
        world = World(client, rt)
        url = world.signer_b.url(world.b, "w_90")
        assert world.get(url).status_code == world.get(url).status_code == 200
        assert world.service.memory.get(url.encode()) is None  # never trusted past its read
        rt.projects.revoke_signing_key(B, world.key_b.id)
        r = world.get(url)
        assert (r.status_code, r.json()["error"]["code"]) == (403, "unknown_key")


def test_a_new_key_is_read_within_a_second(world: World) -> None:
    assert world.get(world.signer_b.url(world.b, "w_80")).status_code == 200  # keys read now
    new = world.rt.projects.create_signing_key(B)
    url = Signer({new.id: new.secret}).url(world.b, "w_80")
    r = world.get(url)
    assert (r.status_code, r.json()["error"]["code"]) == (403, "unknown_key")  # not read yet
    world.advance(1.1)
    assert world.get(url).status_code == 200
    assert world.get(world.signer_b.url(world.b, "w_80")).status_code == 200  # the old key too


def test_unknown_key_ids_read_the_catalog_at_most_once_a_second(world: World) -> None:
    keys = world.service.project_keys
    reads = []
    load = keys.load
    keys.load = lambda: reads.append(1) or load()
    assert world.get(world.signer_b.url(world.b, "w_70")).status_code == 200
    assert len(reads) == 1
    for i in range(20):
        stranger = Signer({f"stranger{i}": "a-key-nobody-ever-made-here"})
        r = world.get(stranger.url(world.b, "w_70"))
        assert (r.status_code, r.json()["error"]["code"]) == (403, "unknown_key")
    assert len(reads) == 1
    world.advance(1.1)
    assert world.get(Signer({"stranger": "a-key-nobody-ever-made-here"}).url(world.b, "w_70")).status_code == 403
    assert len(reads) == 2


def test_default_project_urls_never_read_the_projects_keys(world: World) -> None:
    keys = world.service.project_keys
    reads = []
    load = keys.load
    keys.load = lambda: reads.append(1) or load()
    for ops in ("w_60", "w_61", "w_60", "h_50"):
        assert world.get(world.default.url(world.a, ops)).status_code == 200
    r = world.get(world.default.url(world.a, "w_60").replace("/img/k1.", "/img/k1.x"))
    assert r.status_code == 403
    assert world.get(f"/img/_/w_60/{world.a}").status_code == 403  # unsigned: not in production
    assert reads == []


def test_an_overlay_of_another_project_is_missing(world: World) -> None:
    assert world.get(world.signer_b.url(world.b, f"w_200,l_{world.b_rocket}:w_40")).status_code == 200
    error = same_as_missing(world, world.signer_b, world.b, f"w_200,l_{world.a}:w_40", hidden=world.a)
    assert error["details"] == {"op": "l", "asset_id": world.a}
    same_as_missing(world, world.default, world.a, f"w_200,l_{world.b}:w_40", hidden=world.b)


def test_a_projects_key_with_a_settings_key_id_is_ignored(world: World) -> None:
    with transaction(world.rt.sessions) as s:  # as if made before the settings took the id
        s.add(SigningKeyRow(id="k1", project_id=B, secret="a-project-secret-for-the-same-id"))
    world.advance(1.1)
    forged = Signer({"k1": "a-project-secret-for-the-same-id"}).url(world.b, "w_50")
    r = world.get(forged)
    assert (r.status_code, r.json()["error"]["code"]) == (403, "bad_signature")
    assert world.get(world.default.url(world.a, "w_50")).status_code == 200


def test_expiry_holds_for_project_keys(world: World) -> None:
    past = world.signer_b.url(world.b, "w_40", expires=int(time.time()) - 1)
    r = world.get(past)
    assert (r.status_code, r.json()["error"]["code"]) == (403, "expired_url")
    tampered = world.signer_b.url(world.b, "w_40").replace("/w_40/", "/w_41/")
    assert world.get(tampered).json()["error"]["code"] == "bad_signature"


def test_unsigned_urls_in_development_act_in_the_default_project(tmp_path, database_url) -> None:
    rt = _world(tmp_path, database_url, dev=True, signing={"keys": {}, "key_id": ""})
    with TestClient(create_app(rt.settings, start_workers=False, runtime=rt)) as client:
        a = rt.ingestor.ingest_file(PHOTOS / "rocket.jpg").asset_id
        b = rt.ingestor.ingest_file(PHOTOS / "coffee.png", project=B).asset_id
        assert client.get(f"/img/_/w_100/{a}").status_code == 200
        theirs, missing = client.get(f"/img/_/w_100/{b}"), client.get(f"/img/_/w_100/{MISSING}")
        assert theirs.status_code == missing.status_code == 404
        assert theirs.text.replace(b, MISSING) == missing.text
        # a project's own key still works for its assets in development mode
        key = rt.projects.create_signing_key(B)
        assert client.get(Signer({key.id: key.secret}).url(b, "w_100")).status_code == 200
        assert rt.projects.get(DEFAULT_PROJECT).id == DEFAULT_PROJECT
