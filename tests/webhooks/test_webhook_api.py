"""/v1/webhooks in production settings: the admin scope, project isolation, bad input
that changes nothing; the CLI and the SDK over the same service."""

from __future__ import annotations

import json
import os
import time

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.conftest import make_settings
from tests.creative.conftest import SIGNING, bearer
from vitrina.api.app import create_app
from vitrina.cli import main
from vitrina.client import BadRequestError, Client, NotFoundError
from vitrina.client.webhooks import verify
from vitrina.storage.catalog.db import transaction, upgrade
from vitrina.storage.catalog.projects import ProjectRow
from vitrina.storage.catalog.webhooks import WebhookDeliveryRow, WebhookRow
from vitrina.testing import make_runtime

B = "team-b"
HOOK = {"url": "https://127.0.0.1:8443/hooks", "events": ["asset.ready", "creative.rejected"]}


@pytest.fixture
def api(tmp_path, database_url):
    """Production settings; ``allowed`` lets webhooks reach private addresses."""

    def make(allowed: bool):
        settings = make_settings(tmp_path / str(allowed), database_url, dev=False, signing={"keys": SIGNING},
                                 webhooks={"allow_private_addresses": allowed, "max_subscriptions": 2})
        rt = make_runtime(settings)
        upgrade(rt.engine)
        with transaction(rt.sessions) as s:
            if s.get(ProjectRow, B) is None:
                s.add(ProjectRow(id=B, name="Team B", quotas={}))
        client = TestClient(create_app(settings, start_workers=False, runtime=rt))
        client.__enter__()
        made.append((client, rt))
        return client, rt

    made: list = []
    yield make
    for client, rt in made:
        client.__exit__(None, None, None)
        rt.close()


def count(rt, table) -> int:
    with rt.sessions() as s:
        return s.scalar(select(func.count()).select_from(table))


def test_bad_input_is_a_4xx_with_a_stable_code_and_writes_nothing(api) -> None:
    c, rt = api(allowed=False)
    admin = bearer(rt, "admin", ["admin"])
    cases = [
        ({**HOOK, "url": "https://127.0.0.1/hooks"}, 400, "webhook_address_refused"),
        ({**HOOK, "url": "https://[::ffff:169.254.169.254]/"}, 400, "webhook_address_refused"),
        ({**HOOK, "url": "http://93.184.215.14/hooks"}, 400, "invalid_webhook_url"),
        ({**HOOK, "url": "javascript:alert(1)"}, 400, "invalid_webhook_url"),
        ({**HOOK, "url": 7}, 400, "invalid_webhook_url"),
        ({**HOOK, "events": ["asset.ready", "asset.exploded"]}, 400, "unknown_event_type"),
        ({**HOOK, "events": []}, 400, "invalid_input"),
        ({**HOOK, "events": "asset.ready"}, 400, "invalid_input"),
        ({**HOOK, "active": "yes"}, 400, "invalid_input"),
        ({**HOOK, "secret": "mine"}, 400, "invalid_input"),
        ([HOOK], 400, "invalid_input"),
    ]
    for body, status, code in cases:
        r = c.post("/v1/webhooks", json=body, headers=admin)
        assert (r.status_code, r.json()["error"]["code"]) == (status, code), (body, r.text)
    huge = json.dumps({**HOOK, "pad": "x" * (2 * 1024 * 1024)})
    r = c.post("/v1/webhooks", content=huge, headers={**admin, "Content-Type": "application/json"})
    assert (r.status_code, r.json()["error"]["code"]) == (413, "payload_too_large")
    r = c.post("/v1/webhooks", content=b"{not json", headers={**admin, "Content-Type": "application/json"})
    assert r.status_code == 400
    assert c.get("/v1/webhooks", headers=admin).json() == {"items": []}
    assert count(rt, WebhookRow) == 0


def test_only_admin_keys_manage_webhooks_and_another_projects_answer_404(api) -> None:
    c, rt = api(allowed=True)  # a private deployment: its receivers are on its own network
    a, b = bearer(rt, "a", ["admin"]), bearer(rt, "b", ["admin"], B)
    writer = bearer(rt, "w", ["write"])
    r = c.post("/v1/webhooks", json=HOOK, headers=writer)
    assert (r.status_code, r.json()["error"]["details"]) == (403, {"needed": "admin"})
    assert c.get("/v1/webhooks", headers=bearer(rt, "r", ["read"])).status_code == 403
    r = c.post("/v1/webhooks", json=HOOK, headers=a)
    assert r.status_code == 201, r.text
    created = r.json()
    assert created["secret"].startswith("whsec_") and len(created["secret"]) > 40
    assert (created["url"], created["events"], created["active"]) == (HOOK["url"], HOOK["events"], True)
    hook = created["id"]
    listed = c.get("/v1/webhooks", headers=a).json()["items"]
    assert [h["id"] for h in listed] == [hook] and "secret" not in listed[0]
    assert "secret" not in c.get(f"/v1/webhooks/{hook}", headers=a).json()
    # team-b sees nothing of it, exactly as of a missing one
    assert c.get("/v1/webhooks", headers=b).json() == {"items": []}
    for method, path in (("GET", ""), ("GET", "/deliveries"), ("POST", "/ping"), ("DELETE", "")):
        for target in (hook, "0" * 32, "nope"):
            r = c.request(method, f"/v1/webhooks/{target}{path}", headers=b)
            assert (r.status_code, r.json()["error"]["code"]) == (404, "webhook_not_found"), (method, path)
    assert count(rt, WebhookDeliveryRow) == 0
    r = c.post(f"/v1/webhooks/{hook}/ping", headers=a)
    assert r.status_code == 202
    (delivery,) = c.get(f"/v1/webhooks/{hook}/deliveries", headers=a).json()["items"]
    assert (delivery["id"], delivery["event"], delivery["state"], delivery["attempts"], delivery["log"]) == (
        r.json()["delivery_id"], "ping", "pending", 0, [])
    assert c.get(f"/v1/webhooks/{hook}/deliveries", params={"limit": 0}, headers=a).status_code == 400
    assert c.post("/v1/webhooks", json=HOOK, headers=a).status_code == 201
    r = c.post("/v1/webhooks", json=HOOK, headers=a)
    assert (r.status_code, r.json()["error"]["code"]) == (409, "webhook_limit_reached")
    assert c.post("/v1/webhooks", json=HOOK, headers=b).status_code == 201  # a limit per project
    # a project that holds only webhooks is empty: it goes, and its webhooks with it
    org = bearer(rt, "org", ["org"])
    assert c.delete(f"/v1/projects/{B}", headers=org).status_code == 204
    with rt.sessions() as s:
        assert s.scalar(select(func.count()).select_from(WebhookRow).where(WebhookRow.project_id == B)) == 0
    assert c.delete(f"/v1/webhooks/{hook}", headers=a).status_code == 204
    assert c.get(f"/v1/webhooks/{hook}", headers=a).status_code == 404
    assert count(rt, WebhookDeliveryRow) == 0  # its log went with it


def test_the_cli_adds_lists_pings_reads_and_removes(monkeypatch, tmp_path, receiver) -> None:
    for name in [n for n in os.environ if n.startswith("VITRINA_")]:
        monkeypatch.delenv(name)
    env = {"VITRINA_DEV": "1", "VITRINA_DATA_DIR": str(tmp_path / "data"), "VITRINA_ANALYSIS__MODELS": "[]"}
    runner = CliRunner()

    def run(*args: str):
        return runner.invoke(main, list(args), env=env, catch_exceptions=False)

    assert run("db", "upgrade").exit_code == 0
    added = run("webhooks", "add", receiver.url, "--event", "asset.ready", "--event", "asset.failed")
    assert added.exit_code == 0, added.output
    hook = json.loads(added.output)
    assert hook["events"] == ["asset.ready", "asset.failed"] and hook["secret"].startswith("whsec_")
    bad = run("webhooks", "add", receiver.url, "--event", "asset.exploded")
    assert bad.exit_code == 2 and "asset.exploded" in bad.output
    listed = run("webhooks", "ls").output.splitlines()
    assert len(listed) == 2 and listed[1].split()[0] == hook["id"] and listed[1].endswith(receiver.url)
    delivery = run("webhooks", "ping", hook["id"]).output.strip()
    rows = run("webhooks", "deliveries", hook["id"]).output.splitlines()
    assert rows[1].split()[:4] == [delivery, "ping", "pending", "0"]
    missing = run("webhooks", "rm", "0" * 32)
    assert missing.exit_code == 1 and "webhook_not_found" in missing.output
    assert run("webhooks", "rm", hook["id"]).exit_code == 0
    assert run("webhooks", "ls").output.splitlines()[1:] == []


def test_the_sdk_manages_webhooks_against_a_running_server(tmp_path, receiver) -> None:
    from tests.client.conftest import serve

    with serve(tmp_path) as server, Client(server.url, timeout=10.0) as client:
        hook = client.create_webhook(receiver.url, ["asset.ready"])
        assert hook.secret.startswith("whsec_") and hook.events == ("asset.ready",)
        assert [h.id for h in client.webhooks()] == [hook.id] and client.webhooks()[0].secret is None
        assert client.get_webhook(hook.id).url == receiver.url
        delivery_id = client.ping_webhook(hook.id)  # the server's worker sends it
        (got,) = receiver.wait_for(1)
        assert verify(hook.secret, got.body, got.headers["vitrina-signature"])["type"] == "ping"
        assert got.headers["vitrina-delivery"] == delivery_id
        for _ in range(100):
            (delivery,) = client.webhook_deliveries(hook.id)
            if delivery.state == "delivered":
                break
            time.sleep(0.05)
        assert (delivery.state, delivery.last_status, [a.status_code for a in delivery.log]) == (
            "delivered", 200, [200])
        with pytest.raises(BadRequestError) as bad:
            client.create_webhook(receiver.url, ["asset.exploded"])
        assert bad.value.code == "unknown_event_type"
        client.delete_webhook(hook.id)
        with pytest.raises(NotFoundError):
            client.get_webhook(hook.id)


def test_webhooks_listen_prints_verified_deliveries_and_refuses_forged_ones(capsys) -> None:
    import threading

    import httpx

    from vitrina.cli.webhooks import listener
    from vitrina.webhooks.signing import signature

    secret = "whsec_listen-test-secret"
    server = listener(secret, "127.0.0.1", 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        body = json.dumps({"id": "e1", "type": "asset.ready", "created": 1, "project": "default",
                           "data": {"asset_id": "a1"}}).encode()
        url = f"http://127.0.0.1:{server.server_address[1]}/hooks"
        signed = httpx.post(url, content=body, headers={
            "Vitrina-Signature": signature(secret, int(time.time()), body), "Vitrina-Delivery": "d1"})
        forged = httpx.post(url, content=body, headers={
            "Vitrina-Signature": signature("whsec_guess", int(time.time()), body), "Vitrina-Delivery": "d2"})
        assert (signed.status_code, forged.status_code) == (204, 400)
    finally:
        server.shutdown()
        server.server_close()
    printed = capsys.readouterr()
    assert printed.out.splitlines() == ['d1 asset.ready {"asset_id": "a1"}']
    assert printed.err.splitlines() == ["refused: the signature does not match this body and secret"]
