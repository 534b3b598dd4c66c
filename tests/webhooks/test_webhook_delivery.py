"""Deliveries reach a real receiver on loopback, signed so the SDK's verify accepts
them; retries keep the delivery id and log every attempt; a refusal stops them."""

from __future__ import annotations

import json
import time

import pytest

from tests.webhooks.conftest import runtime_with
from vitrina.client.webhooks import WebhookSignatureError, verify
from vitrina.storage.catalog.db import transaction
from vitrina.storage.catalog.projects import DEFAULT_PROJECT
from vitrina.testing import process_all
from vitrina.webhooks import emit

EVENTS = ["asset.ready", "asset.failed"]


def subscribe(rt, url, events=EVENTS):
    return rt.webhooks.create(DEFAULT_PROJECT, url, events)


def test_a_ping_arrives_signed_and_verifies_with_the_sdk_helper(rt, receiver) -> None:
    hook, secret = subscribe(rt, receiver.url)
    delivery_id = rt.webhooks.ping(DEFAULT_PROJECT, hook.id)
    assert rt.webhooks.deliver_due("w1") == 1
    (got,) = receiver.wait_for(1)
    assert got.path == "/hooks/vitrina"
    assert got.headers["vitrina-event"] == "ping" and got.headers["vitrina-delivery"] == delivery_id
    assert got.headers["content-type"] == "application/json"
    event = verify(secret, got.body, got.headers["vitrina-signature"])
    assert event["type"] == "ping" and event["project"] == DEFAULT_PROJECT
    assert event["data"] == {"webhook_id": hook.id} and abs(event["created"] - time.time()) < 60
    # the signature binds the secret, the exact bytes and the time
    with pytest.raises(WebhookSignatureError, match="does not match"):
        verify("whsec_another", got.body, got.headers["vitrina-signature"])
    with pytest.raises(WebhookSignatureError, match="does not match"):
        verify(secret, got.body.replace(b"ping", b"pong"), got.headers["vitrina-signature"])
    with pytest.raises(WebhookSignatureError, match="older"):
        verify(secret, got.body, got.headers["vitrina-signature"], tolerance=-1)
    for header in (None, "", "v1=abc", "t=123"):
        with pytest.raises(WebhookSignatureError):
            verify(secret, got.body, header)
    (logged,) = rt.webhooks.deliveries(DEFAULT_PROJECT, hook.id)
    assert (logged.state, logged.attempts, logged.last_status, logged.event) == ("delivered", 1, 200, "ping")
    assert [(a.number, a.status_code) for a in logged.log] == [(1, 200)]
    assert logged.finished_at is not None and logged.next_attempt_at is None


def test_two_500s_then_200_is_one_delivery_sent_three_times(rt, receiver) -> None:
    hook, secret = subscribe(rt, receiver.url)
    receiver.script[:] = [500, 500, 200]
    with transaction(rt.sessions) as s:
        assert emit(s, DEFAULT_PROJECT, "asset.ready", {"asset_id": "a1"}) == 1
    assert process_all(rt) == 3  # back-off 0: each retry is due at once
    got = receiver.wait_for(3)
    assert len(got) == 3
    assert {g.headers["vitrina-delivery"] for g in got} == {rt.webhooks.deliveries(DEFAULT_PROJECT, hook.id)[0].id}
    assert len({g.body for g in got}) == 1  # the same event, byte for byte
    for g in got:
        verify(secret, g.body, g.headers["vitrina-signature"])
    (logged,) = rt.webhooks.deliveries(DEFAULT_PROJECT, hook.id)
    assert (logged.state, logged.attempts, logged.last_status) == ("delivered", 3, 200)
    assert [(a.number, a.status_code) for a in logged.log] == [(1, 500), (2, 500), (3, 200)]
    assert logged.log[0].error == "the receiver answered 500"


def test_a_4xx_refusal_stops_retries(rt, receiver) -> None:
    gone, _ = subscribe(rt, receiver.url)
    refusing, _ = subscribe(rt, receiver.url)
    receiver.script[:] = [410, 400, 200]
    rt.webhooks.ping(DEFAULT_PROJECT, gone.id)
    rt.webhooks.ping(DEFAULT_PROJECT, refusing.id)
    process_all(rt)
    assert len(receiver.wait_for(2)) == 2
    for hook, status in ((gone, 410), (refusing, 400)):
        (logged,) = rt.webhooks.deliveries(DEFAULT_PROJECT, hook.id)
        assert (logged.state, logged.attempts, logged.last_status) == ("failed", 1, status)
        assert logged.last_error == f"the receiver answered {status}: not retried"


def test_408_and_429_are_retried_until_the_attempts_run_out(rt, receiver) -> None:
    hook, _ = subscribe(rt, receiver.url)
    receiver.script[:] = [429, 408, 503, 500, 200]  # max_attempts is 4: the 200 is never asked for
    rt.webhooks.ping(DEFAULT_PROJECT, hook.id)
    process_all(rt)
    (logged,) = rt.webhooks.deliveries(DEFAULT_PROJECT, hook.id)
    assert (logged.state, logged.attempts) == ("failed", 4)
    assert [a.status_code for a in logged.log] == [429, 408, 503, 500]
    assert len(receiver.got) == 4


def test_timeouts_and_connection_errors_are_retried_after_their_back_off(tmp_path, database_url,
                                                                         receiver) -> None:
    rt = runtime_with(tmp_path, database_url, webhooks={"timeout_seconds": 0.3, "retry_base_seconds": 60.0})
    try:
        slow, _ = subscribe(rt, receiver.url)
        closed, _ = subscribe(rt, "http://127.0.0.1:9/nothing-listens")
        receiver.delay = 0.6
        rt.webhooks.ping(DEFAULT_PROJECT, slow.id)
        rt.webhooks.ping(DEFAULT_PROJECT, closed.id)
        assert process_all(rt) == 2
        assert rt.webhooks.deliver_due("w1") == 0  # neither is due for about a minute
        (timed_out,) = rt.webhooks.deliveries(DEFAULT_PROJECT, slow.id)
        assert (timed_out.state, timed_out.last_status, timed_out.last_error) == (
            "pending", None, "no answer within 0.3 s")
        wait = (timed_out.next_attempt_at - timed_out.log[0].at).total_seconds()
        assert 45 <= wait <= 75  # 60 s with +-25 % jitter
        (refused,) = rt.webhooks.deliveries(DEFAULT_PROJECT, closed.id)
        assert refused.state == "pending" and refused.last_error.startswith("cannot reach the receiver")
    finally:
        rt.close()


def test_a_crashed_sender_loses_its_lease_and_another_sends_the_same_delivery(tmp_path, database_url,
                                                                              receiver) -> None:
    rt = runtime_with(tmp_path, database_url, webhooks={"lease_seconds": 0.2, "timeout_seconds": 0.1})
    try:
        hook, _secret = subscribe(rt, receiver.url)
        delivery_id = rt.webhooks.ping(DEFAULT_PROJECT, hook.id)
        (lost,) = rt.webhooks.deliverer.claim("dead-worker", 1)  # claimed, never sent
        assert rt.webhooks.deliverer.claim("w2", 1) == []  # leased
        time.sleep(0.35)
        assert rt.webhooks.deliver_due("w2") == 1
        (got,) = receiver.wait_for(1)
        assert got.headers["vitrina-delivery"] == delivery_id
        assert json.loads(got.body)["type"] == "ping"
        from vitrina.webhooks.delivery import Outcome

        assert not rt.webhooks.deliverer.record(lost, Outcome("delivered", 200), 1.0)  # too late: dropped
        (logged,) = rt.webhooks.deliveries(DEFAULT_PROJECT, hook.id)
        assert (logged.state, logged.attempts, [a.number for a in logged.log]) == ("delivered", 2, [2])
    finally:
        rt.close()


def test_an_inactive_subscription_gets_no_events(rt, receiver) -> None:
    rt.webhooks.create(DEFAULT_PROJECT, receiver.url, EVENTS, active=False)
    _wanted, _ = subscribe(rt, receiver.url, ["asset.failed"])
    with transaction(rt.sessions) as s:
        assert emit(s, DEFAULT_PROJECT, "asset.ready", {"asset_id": "a1"}) == 0
        assert emit(s, DEFAULT_PROJECT, "asset.failed", {"asset_id": "a1"}) == 1
    process_all(rt)
    assert [json.loads(g.body)["type"] for g in receiver.wait_for(1)] == ["asset.failed"]


def test_claimers_at_the_same_time_never_take_the_same_delivery(rt, receiver) -> None:
    import threading

    hook, _ = subscribe(rt, receiver.url)
    made = {rt.webhooks.ping(DEFAULT_PROJECT, hook.id) for _ in range(8)}
    start, taken = threading.Barrier(3), {}

    def claim(name: str) -> None:
        start.wait()
        taken[name] = [c.id for c in rt.webhooks.deliverer.claim(name, 4)]

    claimers = [threading.Thread(target=claim, args=(f"w{i}",)) for i in range(3)]
    for t in claimers:
        t.start()
    for t in claimers:
        t.join()
    ids = [i for got in taken.values() for i in got]
    assert len(ids) == len(set(ids)) and set(ids) <= made and len(ids) == 8
