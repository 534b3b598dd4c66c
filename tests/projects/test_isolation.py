"""Isolation between projects, route by route.

Every route of the OpenAPI document that names a resource in its path is called with
project A's key (scope admin in A) against project B's resources, and again against
resources that do not exist: the two answers must be the same (no existence oracle),
never a success, and B's data must be unchanged afterwards. The routes come from the
app itself, so a new route is covered the day it is added; a new kind of path
parameter fails here until this file knows how to make one of B's.
"""

from __future__ import annotations

import time

import numpy as np
import pytest
from fastapi.testclient import TestClient

from tests.api.test_experiments import body as experiment_body
from tests.conftest import PHOTOS, make_settings
from tests.creative.test_documents_api import hero as hero_template
from tests.creative.test_documents_api import kit as brand_kit
from tests.creative.test_serving import add_creatives
from vitrina.access.keys import create_key
from vitrina.api.app import create_app
from vitrina.batch.jobs import BackfillJobs
from vitrina.creative.documents import DocumentService, parser_for
from vitrina.delivery.playback import playback_token
from vitrina.delivery.signing import Signer
from vitrina.ids import new_id
from vitrina.recs.artefacts import ModelStore
from vitrina.recs.data import Interactions
from vitrina.recs.models.popularity import Popularity
from vitrina.storage.catalog.db import transaction
from vitrina.storage.catalog.projects import DEFAULT_PROJECT, ProjectRow
from vitrina.testing import make_runtime, process_all

SIGNING = {"k1": "a-long-random-signing-secret-of-project-a"}
B = "team-b"
#: bodies that make a request valid, so the answer can only be about the resource
BODIES = {
    ("post", "/v1/experiments/{key}/assign"): lambda values: {"unit_id": "u1"},
    ("put", "/v1/experiments/{key}"): lambda values: experiment_body(values["key"]),
    ("put", "/v1/items/{item_id}"): lambda values: {"type": "article", "title": "A's"},
    ("put", "/v1/brand-kits/{document_id}"): lambda values: brand_kit(),
    ("put", "/v1/templates/{document_id}"): lambda values: hero_template(),
    ("put", "/v1/campaigns/{campaign_id}"): lambda values: campaign_body("a-kit"),
    ("post", "/v1/creatives/{campaign}/{placement}/estimate"): lambda values: {"policy": "uniform"},
    ("put", "/v1/creatives/{campaign}/{placement}/policy"): lambda values: {"policy": "uniform"},
}
#: upserts under the caller's own ids: A's PUT over B's item id makes A's own item, as
#: over an id nobody used (the same answer both times), and B's item stays as it was
UPSERTS = {("put", "/v1/items/{item_id}"), ("put", "/v1/brand-kits/{document_id}"),
           ("put", "/v1/templates/{document_id}"), ("put", "/v1/campaigns/{campaign_id}")}


def campaign_body(brand_kit: str) -> dict:
    """A campaign over the project's own brand kit and its articles (none need exist yet)."""
    return {"brand_kit": brand_kit, "templates": ["hero"], "items": {"type": "article"}}


#: answers that prove nothing exists, by route: with a valid body every one is a 404
EXPECTED = {404}


@pytest.fixture
def world(tmp_path, database_url):
    settings = make_settings(tmp_path, database_url, dev=False, signing={"keys": SIGNING})
    rt = make_runtime(settings)
    with transaction(rt.sessions) as s:
        s.add(ProjectRow(id=B, name="Team B", quotas={}))
    key_a = create_key(rt.sessions, "a", ["admin"], DEFAULT_PROJECT)
    key_b = create_key(rt.sessions, "b", ["admin"], B)
    asset_b = rt.ingestor.ingest_file(PHOTOS / "coffee.png", project=B).asset_id
    rt.ingestor.ingest_file(PHOTOS / "rocket.jpg", project=DEFAULT_PROJECT)  # A has its own
    upload_b = rt.uploads.create(B, 1000, {"filename": "half.jpg"}).id  # a resumable upload under way
    job_b = BackfillJobs(rt.sessions).create(project=B, analysers=["phash"], force=True, engine="local",
                                             options={}, total=1)  # a backfill of B's
    add_creatives(rt, "b-campaign", "square", project=B, photo="coffee.png")  # on B's asset
    process_all(rt)
    DocumentService(rt.sessions).put(DEFAULT_PROJECT, "brand_kit", "a-kit", brand_kit(),
                                     parser_for("brand_kit", "a-kit"))  # A's campaigns use it
    # a promoted recommender in A, so /v1/items/{item_id}/similar answers about the item
    store = ModelStore(rt.store)
    a_events = Interactions.from_table({"user_id": ["u1", "u2"], "item_id": ["a-item", "a-item-2"],
                                        "event": ["click", "click"], "ts": [1.0, 2.0]})
    model = Popularity().fit(a_events)
    store.save(DEFAULT_PROJECT, model, {"user_ids": np.asarray(a_events.user_ids, dtype=str),
                                        "item_ids": np.asarray(a_events.item_ids, dtype=str),
                                        "popularity": model.popularity}, {}, {}, "temporal")
    store.promote(DEFAULT_PROJECT, "popularity")
    # after the processing: B's webhook is never sent anything here
    webhook_b = rt.webhooks.create(B, "https://93.184.215.14/hooks", ["asset.ready"])[0].id
    app = create_app(settings, start_workers=False, runtime=rt)
    with TestClient(app) as client:
        as_b = {"Authorization": f"Bearer {key_b}"}
        assert client.post("/v1/experiments", json=experiment_body("hero"), headers=as_b).status_code == 201
        b_asset = client.get(f"/v1/assets/{asset_b}", headers=as_b).json()
        b_experiment = client.get("/v1/experiments/hero", headers=as_b).json()
        b_collection = client.post("/v1/collections", json={"name": "Picks"}, headers=as_b).json()
        assert client.put(f"/v1/collections/{b_collection['id']}/assets/{asset_b}", headers=as_b).status_code == 204
        b_collection = client.get(f"/v1/collections/{b_collection['id']}", headers=as_b).json()
        assert client.put("/v1/items/b-item", json={"type": "article", "title": "B's"},
                          headers=as_b).status_code == 201
        assert client.put("/v1/brand-kits/b-doc", json=brand_kit(), headers=as_b).status_code == 201
        assert client.put("/v1/templates/b-doc", json=hero_template(), headers=as_b).status_code == 201
        assert client.put("/v1/campaigns/b-doc", json=campaign_body("b-doc"), headers=as_b).status_code == 201
        own = {
            "asset_id": asset_b,
            "name": b_asset["derivatives"][0]["url"].rsplit("/", 1)[1],
            "key": "hero",
            "project_id": B,
            "key_id": key_b.split("_")[1],
            "ops": "w_64",
            "upload_id": upload_b,
            "collection_id": b_collection["id"],
            "job_id": job_b,
            "item_id": "b-item",
            "document_id": "b-doc",
            "campaign_id": "b-doc",
            "campaign": "b-campaign",
            "placement": "square",
            "webhook_id": webhook_b,
        }
        missing = own | {"asset_id": new_id(), "key": "no-such-experiment",
                         "project_id": "no-such-project", "key_id": "0" * 16, "upload_id": new_id(),
                         "collection_id": new_id(), "job_id": new_id(),
                         "item_id": "no-such-item", "document_id": "no-such-document",
                         "campaign": "no-such-campaign", "campaign_id": "no-such-campaign",
                         "webhook_id": new_id()}
        yield (client, {"Authorization": f"Bearer {key_a}"}, as_b, own, missing,
               (b_asset, b_experiment, b_collection))
    rt.close()


def routes(app) -> list[tuple[str, str]]:
    schema = app.openapi()
    return sorted((method, path) for path, item in schema["paths"].items() for method in item
                  if "{" in path)


def call(client, method: str, path: str, values: dict, headers: dict):
    filled = path
    for name, value in values.items():
        filled = filled.replace("{" + name + "}", value)
    if path.startswith("/img/"):
        signed_part = filled.split("/", 3)[3]  # {ops}/{asset_id}
        # signed with project A's key (the default project's, from the settings)
        filled = filled.replace("{signature}", Signer(SIGNING, "k1").signature(signed_part))
    if path.startswith("/video/"):  # a playback token of project A's key over the asset
        asset_id = filled.split("/")[3]
        token = playback_token(Signer(SIGNING, "k1"), asset_id, int(time.time()) + 3600)
        filled = filled.replace("{token}", token).replace("{path}", "hls/master.m3u8")
    assert "{" not in filled, f"{method.upper()} {path}: no value for a path parameter in this test"
    make_body = BODIES.get((method, path))
    body = make_body(values) if make_body else {} if method in ("post", "put", "patch") else None
    return client.request(method.upper(), filled, json=body, headers=headers)


def test_another_projects_resources_answer_as_missing_ones_on_every_route(world):
    client, as_a, as_b, own, missing, before = world
    covered = routes(client.app)
    assert len(covered) >= 12  # the assets, experiments and image routes at least
    for method, path in covered:
        theirs = call(client, method, path, own, as_a)
        nothing = call(client, method, path, missing, as_a)
        shown = f"{method.upper()} {path}"
        if (method, path) in UPSERTS:
            assert theirs.status_code == nothing.status_code == 201, shown
            continue
        assert theirs.status_code >= 400, f"{shown} answered {theirs.status_code} for B's resource"
        assert theirs.status_code == nothing.status_code, shown
        if method != "head":  # a HEAD answer has no body to compare
            assert theirs.json()["error"]["code"] == nothing.json()["error"]["code"], shown
        assert theirs.status_code in EXPECTED, f"{shown}: {theirs.status_code} {theirs.text[:200]}"
    # A's recommender answers for A's own item (the 404s above were about B's item)
    assert client.get("/v1/items/a-item/similar", headers=as_a).status_code == 200
    # B's data did not change, and B still sees it
    after = client.get(f"/v1/assets/{own['asset_id']}", headers=as_b).json()
    experiment = client.get("/v1/experiments/hero", headers=as_b).json()
    collection = client.get(f"/v1/collections/{own['collection_id']}", headers=as_b).json()
    assert (after, experiment, collection) == before
    item = client.get("/v1/items/b-item", headers=as_b).json()
    assert (item["title"], item["updated_at"]) == ("B's", item["created_at"])
    for kind in ("brand-kits", "templates", "campaigns"):  # A's PUTs made A's own documents
        assert client.get(f"/v1/{kind}/b-doc", headers=as_b).json()["version"] == 1
    assert client.head(f"/v1/uploads/{own['upload_id']}", headers={**as_b, "Tus-Resumable": "1.0.0"}
                       ).headers["Upload-Offset"] == "0"


def test_lists_show_only_the_callers_project(world):
    client, as_a, as_b, own, _, _ = world
    mine = client.get("/v1/assets", headers=as_a).json()["items"]
    theirs = client.get("/v1/assets", headers=as_b).json()["items"]
    assert [a["filename"] for a in mine] == ["rocket.jpg"]
    assert [a["id"] for a in theirs] == [own["asset_id"]]
    assert client.get("/v1/experiments", headers=as_a).json()["items"] == []
    assert [e["key"] for e in client.get("/v1/experiments", headers=as_b).json()["items"]] == ["hero"]
    assert client.get("/v1/items", headers=as_a).json()["items"] == []
    assert [i["id"] for i in client.get("/v1/items", headers=as_b).json()["items"]] == ["b-item"]


def test_another_projects_asset_cannot_enter_or_leave_ones_own_collection(world):
    client, as_a, _, own, missing, _ = world
    mine = client.post("/v1/collections", json={"name": "Picks"}, headers=as_a).json()  # B's name: no clash
    for method in ("PUT", "DELETE"):
        theirs = client.request(method, f"/v1/collections/{mine['id']}/assets/{own['asset_id']}", headers=as_a)
        nothing = client.request(method, f"/v1/collections/{mine['id']}/assets/{missing['asset_id']}",
                                 headers=as_a)
        assert theirs.status_code == nothing.status_code == 404
        assert theirs.json()["error"]["code"] == nothing.json()["error"]["code"] == "not_found"
    # filtering by B's collection lists nothing, as an unknown one does
    assert client.get("/v1/assets", params={"collection": own["collection_id"]}, headers=as_a).json()["items"] == []
    assert client.get("/v1/collections", headers=as_a).json()["items"] == [
        client.get(f"/v1/collections/{mine['id']}", headers=as_a).json()]
    assert client.get(f"/v1/collections/{mine['id']}", headers=as_a).json()["asset_count"] == 0
