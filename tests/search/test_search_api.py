"""GET /v1/search and GET /v1/assets/{id}/similar on the real photos through the real
pipeline, with the model signals written straight into the catalogue (the model
analysers are off here): words, colours, filters, explanations, paging, search by
example, project isolation; on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import catalog_database, make_settings, process_all
from tests.search.searching import OTHER_PROJECT, ingest_photos, write_model_signals, write_signal
from vitrina.api.app import create_app
from vitrina.testing import make_runtime, running_server


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def served(request, tmp_path_factory) -> Iterator[tuple[TestClient, dict[str, str]]]:
    """One catalogue per module (ingest and processing are what take the time): the
    photos and a crop in the default project, the crop again in another project."""
    tmp = tmp_path_factory.mktemp("search")
    with catalog_database(request.param, tmp) as url:
        settings = make_settings(tmp, url)
        rt = make_runtime(settings)
        app = create_app(settings, start_workers=False, runtime=rt)
        with TestClient(app) as client:
            client.runtime = rt
            ids = ingest_photos(rt, tmp)
            write_model_signals(rt, ids)
            rt.assets.update_metadata("default", ids["chelsea.png"], {
                "title": "Chelsea on the sofa", "alt_text": "A tabby cat looking left", "tags": ["Pets", "cats"]})
            rt.projects.create(OTHER_PROJECT)
            other = rt.ingestor.ingest_file(tmp / "coffee-crop.jpg", project=OTHER_PROJECT).asset_id
            process_all(rt)
            write_model_signals(rt, {"coffee-crop.jpg": other})
            ids["elsewhere/coffee-crop.jpg"] = other
            yield client, ids


@pytest.fixture
def client(served) -> TestClient:
    return served[0]


@pytest.fixture
def catalogue(served) -> dict[str, str]:
    return served[1]


def _names(body: dict, ids: dict[str, str]) -> list[str]:
    by_id = {v: k for k, v in ids.items()}
    return [by_id[h["asset"]["id"]] for h in body["items"]]


def _search(client, **params) -> dict:
    r = client.get("/v1/search", params=params)
    assert r.status_code == 200, r.text
    return r.json()


def test_words_find_ocr_model_tags_and_user_metadata(client, catalogue) -> None:
    body = _search(client, q="dt")
    assert _names(body, catalogue) == ["text.png"]
    hit = body["items"][0]
    assert hit["explain"]["keyword"]["matched"] == [{"field": "ocr", "term": "dt"}]
    assert body["components"] == ["keyword"] and body["fusion"] == {"method": "rrf", "k": 60}

    # a model's tag (a plural finds the singular), on the photo and on its crop
    assert set(_names(_search(client, q="Espresso cups"), catalogue)) == {"coffee.png", "coffee-crop.jpg"}
    # the user's title, alt text and tags
    body = _search(client, q="tabby cat")
    assert _names(body, catalogue) == ["chelsea.png"]
    matched = {(m["field"], m["term"]) for m in body["items"][0]["explain"]["keyword"]["matched"]}
    assert matched == {("alt_text", "tabby"), ("model_tags", "tabby"), ("user_tags", "cat"),
                       ("alt_text", "cat"), ("model_tags", "cat")}
    assert _names(_search(client, q="sofa"), catalogue) == ["chelsea.png"]
    assert _search(client, q="zebra")["items"] == []


def test_explanations_add_up_to_the_score(client, catalogue) -> None:
    body = _search(client, q="space suit missile", color="#1a3050", limit=100)
    assert body["components"] == ["keyword", "color"]
    # a query and a colour: both must find the asset (the astronaut's suit has a navy
    # shadow, #51376b at ΔE 22; the coffee, a match for "space"-less words, has no navy)
    assert _names(body, catalogue) == ["rocket.jpg", "astronaut.png"]
    body = _search(client, q="space cup espresso missile", limit=100)
    scores = [h["score"] for h in body["items"]]
    assert scores == sorted(scores, reverse=True) and len(scores) == 4
    for hit in body["items"]:
        parts = [e for e in hit["explain"].values() if e is not None]
        assert parts and math.isclose(hit["score"], sum(e["contribution"] for e in parts), rel_tol=1e-9)
        for e in parts:
            assert math.isclose(e["contribution"], 1 / (60 + e["rank"]), rel_tol=1e-9)
    keyword_scores = [h["explain"]["keyword"]["score"] for h in body["items"]]
    assert keyword_scores == sorted(keyword_scores, reverse=True)
    assert [h["explain"]["keyword"]["rank"] for h in body["items"]] == [1, 2, 3, 4]


def test_colour_ranks_the_real_photos_by_their_dominant_colours(client, catalogue) -> None:
    """The order measured on the photos' stored ``colors`` signals (decision 027)."""
    navy = _search(client, color="#1a3050")
    assert _names(navy, catalogue)[0] == "rocket.jpg"
    assert navy["items"][0]["explain"]["color"]["hex"] == "#142e50"
    assert navy["items"][0]["explain"]["color"]["delta_e"] < 3
    assert _names(_search(client, color="#a0522d"), catalogue)[:5] == [
        "coffee.png", "coffee-crop.jpg", "retina.jpg", "astronaut.png", "chelsea.png"]
    assert _names(_search(client, color="#c05438"), catalogue) == [
        "retina.jpg", "coffee.png", "astronaut.png", "coffee-crop.jpg"]
    assert _names(_search(client, color="#c0c0c0"), catalogue)[:3] == ["camera.png", "astronaut.png", "text.png"]
    # the colour's neighbourhood is the tolerance: a wider one finds more
    assert len(_search(client, color="#1a3050", color_tolerance=40)["items"]) > len(navy["items"])
    for hit in navy["items"]:
        c = hit["explain"]["color"]
        assert c["delta_e"] < 25 and 0 < c["score"] <= 1 and 0 < c["fraction"] <= 1


def test_filters_apply_before_ranking_and_pages_follow(client, catalogue) -> None:
    everything = _search(client, limit=100)
    assert everything["components"] == [] and everything["total"] == 9
    assert [h["score"] for h in everything["items"]] == [0.0] * 9
    assert _names(everything, catalogue)[0] == "coffee-crop.jpg"  # newest first
    assert set(_names(_search(client, min_width=1000), catalogue)) == {"hubble_deep_field.jpg", "retina.jpg"}
    assert set(_names(_search(client, max_width=460, min_height=200), catalogue)) == {"chelsea.png"}
    assert _names(_search(client, tag="cats"), catalogue) == ["chelsea.png"]
    assert _names(_search(client, tag="espresso"), catalogue) == ["coffee-crop.jpg", "coffee.png"]
    assert _search(client, kind="video")["total"] == 0
    now = datetime.now(UTC)
    assert _search(client, created_after=(now + timedelta(hours=1)).isoformat())["total"] == 0
    assert _search(client, created_before=(now + timedelta(days=2)).date().isoformat())["total"] == 9
    # a filter narrows a ranked search too
    assert _names(_search(client, q="espresso", min_width=500), catalogue) == ["coffee.png"]

    c = client.post("/v1/collections", json={"name": "space"}).json()
    for name in ("rocket.jpg", "astronaut.png"):
        assert client.put(f"/v1/collections/{c['id']}/assets/{catalogue[name]}").status_code == 204
    assert set(_names(_search(client, collection=c["id"]), catalogue)) == {"rocket.jpg", "astronaut.png"}
    assert _names(_search(client, collection=c["id"], q="missile"), catalogue) == ["rocket.jpg"]
    assert _search(client, collection="0" * 32)["total"] == 0

    seen, cursor = [], None
    while True:
        page = _search(client, color="#c0c0c0", color_tolerance=60, limit=2, **({"cursor": cursor} if cursor else {}))
        seen += _names(page, catalogue)
        cursor = page["next_cursor"]
        if cursor is None:
            break
    whole = _names(_search(client, color="#c0c0c0", color_tolerance=60, limit=100), catalogue)
    assert seen == whole and len(whole) > 4
    r = client.get("/v1/search", params={"color": "#000000", "cursor": page_cursor(client)})
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_cursor"


def page_cursor(client) -> str:
    """A cursor of another query."""
    return _search(client, limit=1)["next_cursor"]


def test_similar_finds_the_crop_first(client, catalogue) -> None:
    client.runtime.search.indexes.save_interval = 0
    r = client.get(f"/v1/assets/{catalogue['coffee.png']}/similar", params={"limit": 3})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["asset_id"] == catalogue["coffee.png"] and body["by"] == "image" and body["embedded"] is True
    names = {v: k for k, v in catalogue.items()}
    found = [(names[s["asset"]["id"]], s["similarity"]) for s in body["similar"]]
    assert found[0][0] == "coffee-crop.jpg" and found[0][1] > 0.8
    assert found[0][1] - found[1][1] > 0.1  # well ahead of every other photo
    assert len(found) == 3 and all(f[1] < found[0][1] for f in found[1:])
    assert catalogue["elsewhere/coffee-crop.jpg"] not in {s["asset"]["id"] for s in body["similar"]}
    body = client.get(f"/v1/assets/{catalogue['coffee-crop.jpg']}/similar").json()
    assert names[body["similar"][0]["asset"]["id"]] == "coffee.png" and len(body["similar"]) == 8

    # no text embedding yet: nothing compared
    body = client.get(f"/v1/assets/{catalogue['coffee.png']}/similar", params={"by": "text"}).json()
    assert body == {"asset_id": catalogue["coffee.png"], "by": "text", "embedded": False, "similar": []}


def test_projects_see_only_their_own(client, catalogue) -> None:
    rt = client.runtime
    other = catalogue["elsewhere/coffee-crop.jpg"]
    r = client.get(f"/v1/assets/{other}/similar")
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    assert other not in {h["asset"]["id"] for h in _search(client, q="espresso", limit=100)["items"]}
    from vitrina.search.query import parse_query

    page = rt.search.search(OTHER_PROJECT, parse_query(q="espresso"))
    assert [h.asset.id for h in page.items] == [other]
    found = rt.search.similar(OTHER_PROJECT, other)
    assert found.embedded and found.similar == ()  # alone in its project
    with pytest.raises(Exception) as caught:
        rt.search.similar(OTHER_PROJECT, catalogue["coffee.png"])
    assert getattr(caught.value, "code", None) == "not_found"


@pytest.mark.parametrize(("params", "code"), [
    ({"q": "x" * 501}, "query_too_long"),
    ({"color": "red"}, "invalid_color"),
    ({"color": "#12345"}, "invalid_color"),
    ({"color": "#1234567"}, "invalid_color"),
    ({"color": "#123", "color_tolerance": "0"}, "invalid_input"),
    ({"created_after": "yesterday"}, "invalid_date"),
    ({"created_before": "2026-13-01"}, "invalid_date"),
    ({"created_after": "2026-02-01", "created_before": "2026-01-01"}, "invalid_range"),
    ({"min_width": "500", "max_width": "100"}, "invalid_range"),
    ({"min_width": "-1"}, "invalid_input"),
    ({"limit": "101"}, "invalid_input"),
    ({"limit": "0"}, "invalid_input"),
    ({"cursor": "not-a-cursor"}, "invalid_cursor"),
    ({"collection": "nope"}, "invalid_input"),
])
def test_bad_input_answers_400_with_a_stable_code(client, params, code) -> None:
    r = client.get("/v1/search", params=params)
    assert r.status_code == 400, r.text
    assert r.json()["error"]["code"] == code


def test_similar_bad_input(client, catalogue) -> None:
    asset = "0" * 32
    assert client.get(f"/v1/assets/{asset}/similar").status_code == 404
    r = client.get(f"/v1/assets/{asset}/similar", params={"by": "smell"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_input"
    assert client.get(f"/v1/assets/{asset}/similar", params={"limit": 101}).status_code == 400
    assert client.get("/v1/assets/..%2f..%2fetc/similar").status_code in (400, 404)


#: every code /v1/search may answer with a 400
CODES = {"invalid_input", "invalid_text", "query_too_long", "invalid_color", "invalid_date", "invalid_range",
         "invalid_cursor", "invalid_tag"}
_VALUES = st.one_of(st.text(max_size=40), st.integers(-10**12, 10**12).map(str),
                    st.sampled_from(["#fff", "#c0ffee", "c0ffee", "2026-12-01", "2026-12-01T10:00:00+05:00",
                                     "0", "100", "101", "1e309", "nan", "-0", "%00", "\u0000",
                                     "9999-12-31T23:59:59", "0001-01-01", "x" * 600]))
_PARAMS = ["q", "color", "color_tolerance", "kind", "tag", "collection", "min_width", "max_width", "min_height",
           "max_height", "created_after", "created_before", "limit", "cursor"]


@settings(max_examples=120, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
@given(params=st.dictionaries(st.sampled_from(_PARAMS), _VALUES, max_size=5))
def test_fuzzed_parameters_never_answer_5xx(client, catalogue, params) -> None:
    r = client.get("/v1/search", params=params)
    assert r.status_code in (200, 400), (params, r.status_code, r.text)
    if r.status_code == 400:
        assert r.json()["error"]["code"] in CODES, (params, r.text)


def test_cli_prints_a_table_and_json(client, catalogue) -> None:
    from vitrina.cli import main

    settings_ = client.runtime.settings
    r = CliRunner().invoke(main, ["search", "espresso", "--limit", "5"], obj=settings_)
    assert r.exit_code == 0, r.output
    lines = r.output.splitlines()
    assert lines[0] == "2 found (ranked by keyword)"
    assert lines[1].split() == ["id", "score", "title/filename", "why"]
    assert catalogue["coffee.png"] in r.output and "espresso in model_tags" in r.output
    r = CliRunner().invoke(main, ["search", "--color", "#1a3050", "--json"], obj=settings_)
    body = json.loads(r.output)
    assert body["components"] == ["color"] and body["items"][0]["asset_id"] == catalogue["rocket.jpg"]
    assert body["items"][0]["explain"]["color"]["hex"] == "#142e50"
    r = CliRunner().invoke(main, ["search", "--color", "navy"], obj=settings_)
    assert r.exit_code == 1 and "invalid_color" in r.output
    r = CliRunner().invoke(main, ["assets", "similar", catalogue["coffee.png"], "--limit", "2"], obj=settings_)
    assert r.exit_code == 0, r.output
    assert r.output.splitlines()[1].startswith(catalogue["coffee-crop.jpg"]) and "coffee-crop.jpg" in r.output
    r = CliRunner().invoke(main, ["assets", "similar", catalogue["coffee.png"], "--by", "text", "--json"],
                           obj=settings_)
    assert json.loads(r.output)["embedded"] is False
    for command in (["search", "--help"], ["assets", "similar", "--help"]):
        assert CliRunner().invoke(main, command).exit_code == 0


def test_sdk_pages_like_its_other_lists(client, catalogue) -> None:
    from vitrina.client import Client
    from vitrina.client.errors import VitrinaAPIError
    from vitrina.client.models import SearchPage, SimilarResult

    app = create_app(client.runtime.settings, start_workers=False)
    with running_server(app) as url, Client(url, timeout=20) as sdk:
        page = sdk.search("espresso")
        assert isinstance(page, SearchPage) and page.components == ("keyword",) and page.total == 2
        assert {h.asset.filename for h in page.items} == {"coffee.png", "coffee-crop.jpg"}
        assert page.items[0].explain["keyword"]["matched"][0] == {"field": "model_tags", "term": "espresso"}
        assert "color" not in page.items[0].explain  # components that did not find it are left out
        first = sdk.search(color="#c0c0c0", color_tolerance=60, limit=2)
        every = list(sdk.iter_search(color="#c0c0c0", color_tolerance=60, limit=2))
        assert len(every) == first.total > 2 and every[:2] == list(first.items)
        assert [h.asset.id for h in sdk.search(min_width=1000).items] == [
            catalogue["retina.jpg"], catalogue["hubble_deep_field.jpg"]]
        found = sdk.similar(catalogue["coffee.png"], limit=1)
        assert isinstance(found, SimilarResult) and found.embedded
        assert [s.asset.id for s in found.similar] == [catalogue["coffee-crop.jpg"]]
        with pytest.raises(VitrinaAPIError) as caught:
            sdk.search(color="navy")
        assert caught.value.code == "invalid_color"


def test_an_asset_written_after_the_index_is_found(client, catalogue) -> None:
    """The similar index catches up with a signal written after it was built."""
    rt = client.runtime
    first = client.get(f"/v1/assets/{catalogue['camera.png']}/similar").json()
    assert len(first["similar"]) == 8
    import numpy as np

    from vitrina.search.vectors import decode_vector, encode_vector

    camera = decode_vector(rt.assets.get("default", catalogue["camera.png"]).signals["imagenet"].value["embedding"])
    twin = camera + 0.1 / np.sqrt(camera.size) * np.random.default_rng(1).standard_normal(camera.shape).astype(np.float32)
    write_signal(rt, catalogue["hubble_deep_field.jpg"], "imagenet",
                 {"tags": [], "embedding": encode_vector(twin / np.linalg.norm(twin))})
    body = client.get(f"/v1/assets/{catalogue['camera.png']}/similar").json()
    assert body["similar"][0]["asset"]["id"] == catalogue["hubble_deep_field.jpg"]
    assert body["similar"][0]["similarity"] > 0.99
