"""The UI's pages and fragments over HTTP, on SQLite and PostgreSQL: progress until
ready, another project's asset as a missing one, bad input as a clear 4xx page, and
static files under their content hash."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from tests.conftest import PHOTOS, make_settings
from vitrina.access.keys import create_key
from vitrina.api.app import create_app
from vitrina.storage.catalog.db import transaction
from vitrina.storage.catalog.projects import ProjectRow
from vitrina.testing import make_runtime, process_all
from vitrina.ui.static import IMMUTABLE, Manifest

SIGNING = {"k1": "a-long-random-signing-secret-for-the-ui-pages"}


def upload(client: TestClient, name: str = "coffee.png") -> str:
    answer = client.post("/v1/assets", files={"file": (name, (PHOTOS / name).read_bytes())})
    assert answer.status_code == 201
    return answer.json()["id"]


def test_a_tile_and_a_page_follow_processing_until_ready(client):
    asset_id = upload(client)
    tile = client.get(f"/ui/assets/{asset_id}/card")
    assert tile.status_code == 200
    assert 'data-status="pending"' in tile.text and 'hx-trigger="every 1s"' in tile.text
    progress = client.get(f"/ui/assets/{asset_id}/progress")
    assert "Processing: 33%" in progress.text  # the probe ran at ingest: one step of three
    assert "HX-Refresh" not in progress.headers

    process_all(client.runtime)
    tile = client.get(f"/ui/assets/{asset_id}/card")
    assert 'data-status="ready"' in tile.text and "hx-trigger" not in tile.text  # polling stops
    assert re.search(rf'src="/img/_/c_fill,g_auto,h_320,q_70,w_320/{asset_id}"', tile.text)  # unsigned: dev
    assert client.get(f"/ui/assets/{asset_id}/progress").headers["HX-Refresh"] == "true"
    page = client.get(f"/assets/{asset_id}")
    assert page.status_code == 200 and "Transformation" in page.text
    original = client.get(f"/ui/assets/{asset_id}/files/original")
    assert original.content == (PHOTOS / "coffee.png").read_bytes()


BAD_INPUT = [
    ("/assets/" + "0" * 32, 404, "not_found"),
    ("/assets/not-an-id", 404, "not_found"),
    ("/?color=blue", 400, "invalid_color"),
    ("/?cursor=%ff%fe", 400, "invalid_cursor"),
    ("/?q=" + "x" * 600, 400, "invalid_input"),
    ("/?q=tea%00pot", 400, "invalid_text"),
    ("/?tag=%00", 400, "invalid_text"),
    ("/?similar=" + "0" * 32, 404, "not_found"),
    ("/?kind=<script>", 400, "invalid_input"),
    ("/ui/assets/" + "0" * 32 + "/card", 404, "not_found"),
    ("/ui/static/ui.css", 404, "not_found"),
    ("/ui/static/../auth.py", 404, "not_found"),
]


def test_bad_input_is_a_clear_4xx_page(client):
    for path, status, code in BAD_INPUT:
        answer = client.get(path)
        assert answer.status_code == status, (path, answer.text[:500])
        assert f'data-code="{code}"' in answer.text or f'"code":"{code}"' in answer.text, path


def test_an_empty_search_says_so(client):
    assert "No assets here yet." in client.get("/").text
    assert "Nothing matches" in client.get("/?q=nothing+like+this").text
    assert "Nothing matches" in client.get("/?q=nothing+like+this&status=ready").text


def test_bad_transformations_name_the_value_and_nothing_breaks(client):
    asset_id = upload(client)
    process_all(client.runtime)
    for query, code, named in [("w=abc", "invalid_op", "&#39;w&#39;"), ("w=999999", "invalid_op", "&#39;w&#39;"),
                               ("w=99999999", "invalid_input", "valid: w"), ("q=0", "invalid_op", "&#39;q&#39;"),
                               ("c=melt", "invalid_op", "&#39;c&#39;"), ("f=gif", "invalid_op", "&#39;f&#39;"),
                               ("c=fill&g=%01", "invalid_op", "&#39;g&#39;")]:
        answer = client.get(f"/ui/assets/{asset_id}/transform?{query}", headers={"HX-Request": "true"})
        assert answer.status_code == 400, (query, answer.text[:300])
        assert f'data-code="{code}"' in answer.text and named in answer.text, (query, answer.text)
        assert "<html" not in answer.text  # a fragment, shown in place of the preview
    ok = client.get(f"/ui/assets/{asset_id}/transform?w=100&h=50&c=fill", headers={"HX-Request": "true"})
    assert ok.status_code == 200 and 'data-ops="c_fill,h_50,w_100"' in ok.text


@pytest.fixture
def production(tmp_path, database_url):
    settings = make_settings(tmp_path, database_url, dev=False, signing={"keys": SIGNING})
    rt = make_runtime(settings)
    with transaction(rt.sessions) as s:
        s.add(ProjectRow(id="team-b", name="Team B", quotas={}))
    with TestClient(create_app(settings, start_workers=False, runtime=rt)) as client:
        yield rt, client
    rt.close()


def sign_in(client: TestClient, key: str) -> str:
    """Sign in as the browser does; the session's CSRF token."""
    form = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)[1]
    answer = client.post("/login", data={"api_key": key, "csrf_token": token}, follow_redirects=False)
    assert answer.status_code == 303, answer.text[:300]
    return re.search(r'data-csrf-token="([^"]+)"', client.get("/").text)[1]


def test_another_projects_asset_is_a_missing_one(production):
    rt, client = production
    owner = create_key(rt.sessions, "owner", ["write"])
    answer = client.post("/v1/assets", headers={"Authorization": f"Bearer {owner}"},
                         files={"file": ("chelsea.png", (PHOTOS / "chelsea.png").read_bytes())})
    asset_id = answer.json()["id"]
    process_all(rt)

    sign_in(client, create_key(rt.sessions, "team b", ["write"], "team-b"))
    for path in (f"/assets/{asset_id}", f"/ui/assets/{asset_id}/card", f"/ui/assets/{asset_id}/files/original",
                 f"/ui/assets/{asset_id}/transform?w=10", f"/?similar={asset_id}"):
        answered = client.get(path)
        assert answered.status_code == 404 and 'data-code="not_found"' in answered.text, path
    assert client.get("/").status_code == 503  # team-b signs no URLs yet: it says so
    assert 'data-code="no_signing_key"' in client.get("/").text


def test_login_needs_the_forms_token_and_a_live_key(production):
    rt, client = production
    key = create_key(rt.sessions, "pm", ["read"])
    assert client.post("/login", data={"api_key": key}, follow_redirects=False).status_code == 403
    assert "vitrina_session" not in client.cookies
    csrf = sign_in(client, key)
    assert client.get("/", follow_redirects=False).status_code == 200
    assert client.post("/logout", follow_redirects=False).status_code == 403  # no token: still in
    assert client.get("/", follow_redirects=False).status_code == 200
    assert client.post("/logout", data={"csrf_token": csrf}, follow_redirects=False).status_code == 303
    assert client.get("/", follow_redirects=False).headers["location"] == "/login?next=/"


def test_static_files_are_named_by_their_content_and_cached_for_a_year(client, tmp_path):
    page = client.get("/").text
    css = re.search(r'href="(/ui/static/ui\.[0-9a-f]{12}\.css)"', page)[1]
    answer = client.get(css)
    assert answer.headers["cache-control"] == IMMUTABLE and answer.headers["content-type"].startswith("text/css")
    assert client.get(css, headers={"If-None-Match": answer.headers["etag"]}).status_code == 304
    assert client.head(css).headers["cache-control"] == IMMUTABLE

    (tmp_path / "a.js").write_text("one")
    before = Manifest(tmp_path).url("a.js")
    (tmp_path / "a.js").write_text("two")
    assert Manifest(tmp_path).url("a.js") != before
