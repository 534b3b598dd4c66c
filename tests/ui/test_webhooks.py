"""The webhooks page in a real browser: a bad URL refused at its field, a subscription
created from the form for a real receiver on loopback, its secret shown once, a ping
delivered and signed with that secret, then the subscription deleted; and over HTTP on
both catalogs: the admin scope, the form's token, another project's subscription as a
missing one, and bad values as a 4xx at their field that store nothing."""

from __future__ import annotations

import re

from tests.ui.browser import assert_accessible, assert_looks_like
from tests.ui.test_experiments import assert_fits_a_phone, tab_to
from tests.ui.test_pages import production, sign_in  # noqa: F401 (a fixture)
from tests.webhooks.conftest import receiver  # noqa: F401 (a fixture)
from vitrina.access.keys import create_key
from vitrina.client.webhooks import verify
from vitrina.storage.catalog.webhooks import WebhookRow

#: a public address: production settings accept it without resolving a name
PUBLIC = "https://93.184.215.14/hooks/vitrina"


def test_subscribe_ping_and_delete_from_the_page(dev_server, page, receiver):  # noqa: F811
    base, rt = dev_server
    page.goto(base + "/webhooks")
    assert_accessible(page)
    url = page.get_by_label("URL", exact=True)
    url.fill("ftp://example.com/hooks")
    page.get_by_label("asset.ready").check()
    page.get_by_role("button", name="Create webhook").click()
    error = page.locator("#f-url-error")  # refused at its field, the values kept
    assert error.get_attribute("data-code") == "invalid_webhook_url"
    assert url.get_attribute("aria-invalid") == "true"
    assert page.get_by_label("asset.ready").is_checked()
    assert rt.webhooks.list("default") == []

    url.fill(receiver.url)
    page.get_by_label("video.progress").check()
    page.get_by_role("button", name="Create webhook").click()
    shown = page.locator("#new-secret")
    assert "it will not be shown again" in shown.inner_text()
    secret = page.locator("#secret").input_value()
    [hook] = rt.webhooks.list("default")
    assert (hook.url, hook.events, hook.active) == (receiver.url, ("asset.ready", "video.progress"), True)
    assert shown.get_attribute("data-webhook") == hook.id
    assert page.locator(f"#webhooks tr[data-id='{hook.id}'] td").first.inner_text() == "asset.ready, video.progress"
    assert_accessible(page)
    assert_looks_like(page, "webhooks")
    page.reload()  # the page's address stayed /webhooks: the secret is gone
    assert page.locator("#new-secret").count() == 0 and secret not in page.content()

    section = page.locator(f"#hook-{hook.id}")
    section.get_by_role("button", name="Send a ping").click()
    delivered = section.locator("tr[data-state='delivered']")
    delivered.wait_for()  # the log follows the delivery until it settles
    assert delivered.locator("th").inner_text() == "ping"
    assert delivered.locator(".last-status").inner_text() == "200"
    [got] = receiver.wait_for(1)
    assert verify(secret, got.body, got.headers["vitrina-signature"])["data"] == {"webhook_id": hook.id}
    assert got.headers["vitrina-delivery"] == delivered.get_attribute("data-delivery")
    assert_fits_a_phone(page)

    delete = section.get_by_role("button", name="Delete")
    delete.click()  # the confirmation is not ticked: nothing is sent
    assert rt.webhooks.list("default") == [hook]
    tab_to(page, section.get_by_label("Delete this webhook and its log"))  # by keyboard alone
    page.keyboard.press("Space")
    tab_to(page, delete)
    page.keyboard.press("Enter")
    page.get_by_text("No webhooks yet.").wait_for()
    assert rt.webhooks.list("default") == []


def test_admins_only_and_bad_forms_change_nothing(production):  # noqa: F811
    """Over HTTP on both catalogs: team-b's admin neither sees nor pings nor deletes the
    default project's webhook; bad values are a 400 at their field; a form without its
    token and a key without the admin scope are refused."""
    rt, client = production
    theirs, _ = rt.webhooks.create("default", PUBLIC, ["asset.ready"])
    csrf = sign_in(client, create_key(rt.sessions, "team b admin", ["admin"], "team-b"))
    listed = client.get("/webhooks")
    assert listed.status_code == 200 and PUBLIC not in listed.text
    for action in ("ping", "delete"):
        answer = client.post(f"/ui/webhooks/{theirs.id}/{action}", data={"csrf_token": csrf, "confirm": "yes"})
        assert answer.status_code == 404 and 'data-code="webhook_not_found"' in answer.text, action
    assert rt.webhooks.list("default") == [theirs] and rt.webhooks.deliveries("default", theirs.id) == []

    form = {"csrf_token": csrf, "url": PUBLIC, "events": ["asset.ready", "creative.rejected"]}
    refusals = [({"url": "ftp://example.com/hooks"}, "url", "invalid_webhook_url"),
                ({"url": "https://127.0.0.1:8443/hooks"}, "url", "webhook_address_refused"),
                ({"events": ["asset.gone"]}, "events", "unknown_event_type"),
                ({"events": []}, "events", "invalid_input")]
    for change, field, code in refusals:
        refused = client.post("/ui/webhooks", data={**form, **change}, headers={"HX-Request": "true"})
        assert refused.status_code == 400, (change, refused.text[:300])
        assert f'id="f-{field}-error" role="alert" data-code="{code}"' in refused.text, change
        assert "<html" not in refused.text  # htmx swaps it into the page
    without_token = client.post("/ui/webhooks", data={k: v for k, v in form.items() if k != "csrf_token"})
    assert without_token.status_code == 403 and 'data-code="csrf_failed"' in without_token.text
    assert rt.webhooks.list("team-b") == []

    created = client.post("/ui/webhooks", data=form)
    [mine] = rt.webhooks.list("team-b")
    with rt.sessions() as s:
        secret = s.get(WebhookRow, mine.id).secret
    assert created.status_code == 201 and f'value="{secret}"' in created.text
    assert mine.events == ("asset.ready", "creative.rejected")
    assert secret not in client.get("/webhooks").text

    sign_in(client, create_key(rt.sessions, "writer", ["write"], "team-b"))
    denied = client.get("/webhooks")
    assert denied.status_code == 403 and 'data-code="forbidden"' in denied.text and "admin" in denied.text
    writer_csrf = re.search(r'data-csrf-token="([^"]+)"', denied.text)[1]
    for path in ("/ui/webhooks", f"/ui/webhooks/{mine.id}/ping", f"/ui/webhooks/{mine.id}/delete"):
        answer = client.post(path, data={**form, "csrf_token": writer_csrf, "confirm": "yes"})
        assert answer.status_code == 403 and 'data-code="forbidden"' in answer.text, path
    assert rt.webhooks.list("team-b") == [mine] and rt.webhooks.deliveries("team-b", mine.id) == []
