"""Signing in to the UI with production settings: an API key once, then a session
cookie; forms without the session's CSRF token are refused and change nothing; a
read-only key sees the library but cannot upload; signing out ends the session."""

from __future__ import annotations

import pytest

from tests.conftest import PHOTOS
from tests.ui.browser import assert_accessible, assert_looks_like, drop_files
from vitrina.access.keys import create_key, revoke_key
from vitrina.collections.service import CollectionService
from vitrina.storage.catalog.projects import DEFAULT_PROJECT


@pytest.fixture(scope="module")
def keys(prod_server) -> dict[str, str]:
    _, rt = prod_server
    return {scope: create_key(rt.sessions, f"{scope} key", [scope]) for scope in ("read", "write")}


def sign_in(page, base: str, key: str) -> None:
    page.goto(base + "/login")
    page.get_by_label("API key").fill(key)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(base + "/")


def collection_names(rt) -> list[str]:
    return [c.name for c in CollectionService.of(rt).list(DEFAULT_PROJECT).items]


def test_pages_ask_for_a_key_once_and_keep_a_session(prod_server, keys, page):
    base, _ = prod_server
    page.goto(base + "/?kind=image")
    assert page.url == base + "/login?next=/%3Fkind%3Dimage"
    assert_accessible(page)
    assert_looks_like(page, "login")

    page.get_by_label("API key").fill("vk_0123456789abcdef_wrong")
    page.get_by_role("button", name="Sign in").click()
    assert page.get_by_role("alert").inner_text() == "unknown or revoked API key"

    page.get_by_label("API key").fill(keys["write"])
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(base + "/?kind=image")  # back where the browser was sent from
    assert page.get_by_role("heading", level=1).inner_text() == "Library"
    cookie = {c["name"]: c for c in page.context.cookies()}["vitrina_session"]
    assert (cookie["httpOnly"], cookie["sameSite"], cookie["secure"]) == (True, "Lax", False)
    assert page.locator("#dropzone").count() == 1

    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(base + "/login")
    page.goto(base + "/")
    assert page.url.startswith(base + "/login")  # the session is gone, server-side too


def test_a_form_without_the_session_csrf_token_is_refused(prod_server, keys, page):
    base, rt = prod_server
    sign_in(page, base, keys["write"])
    token = page.locator("body").get_attribute("data-csrf-token")

    forged = page.request.post(base + "/ui/collections", form={"name": "forged"}, max_redirects=0)
    assert forged.status == 403
    assert "csrf_failed" in forged.text()
    stale = page.request.post(base + "/ui/collections", form={"name": "forged", "csrf_token": "x" * 43},
                              max_redirects=0)
    assert stale.status == 403
    assert "forged" not in collection_names(rt)

    made = page.request.post(base + "/ui/collections", form={"name": "Spring", "csrf_token": token},
                             max_redirects=0)
    assert made.status == 303 and made.headers["location"].startswith("/?collection=")
    assert "Spring" in collection_names(rt)

    # the tus endpoint takes the session only with its token in a header
    size = (PHOTOS / "text.png").stat().st_size
    headers = {"Tus-Resumable": "1.0.0", "Upload-Length": str(size), "Upload-Metadata": "filename dGV4dC5wbmc="}
    refused = page.request.post(base + "/v1/uploads", headers=headers)
    assert (refused.status, refused.json()["error"]["code"]) == (403, "csrf_failed")
    created = page.request.post(base + "/v1/uploads", headers={**headers, "X-CSRF-Token": token})
    assert created.status == 201


def test_a_read_only_key_sees_the_library_but_cannot_change_it(prod_server, keys, page):
    base, rt = prod_server
    sign_in(page, base, keys["read"])
    assert page.locator("#dropzone").count() == 0
    assert page.get_by_text("New collection").count() == 0
    token = page.locator("body").get_attribute("data-csrf-token")
    refused = page.request.post(base + "/ui/collections", form={"name": "Nope", "csrf_token": token},
                                max_redirects=0)
    assert refused.status == 403 and "lacks the &#39;write&#39; scope" in refused.text()
    upload = page.request.post(base + "/v1/uploads", headers={
        "Tus-Resumable": "1.0.0", "Upload-Length": "10", "X-CSRF-Token": token})
    assert (upload.status, upload.json()["error"]["code"]) == (403, "forbidden")
    assert "Nope" not in collection_names(rt)


def test_revoking_the_key_ends_its_sessions(prod_server, page):
    base, rt = prod_server
    key = create_key(rt.sessions, "short-lived", ["read"])
    sign_in(page, base, key)
    revoke_key(rt.sessions, key.split("_")[1])
    page.goto(base + "/")
    assert page.url.startswith(base + "/login")


def test_a_signed_in_writer_uploads_through_the_session(prod_server, keys, page):
    """No API key in the browser: tus requests carry the session cookie and its token."""
    base, rt = prod_server
    sign_in(page, base, keys["write"])
    drop_files(page, "#dropzone", [PHOTOS / "rocket.jpg"])
    row = page.locator("#uploads li[data-asset-id]")
    row.wait_for()
    asset_id = row.get_attribute("data-asset-id")
    page.locator(f"#card-{asset_id}[data-status='ready']").wait_for(timeout=30_000)
    assert rt.assets.get(DEFAULT_PROJECT, asset_id).filename == "rocket.jpg"
