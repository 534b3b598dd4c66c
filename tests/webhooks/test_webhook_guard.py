"""The guard against server-side request forgery: outside development mode no
subscription and no delivery reaches a non-public address, whatever form it takes;
the setting lets a private deployment (and these tests) allow them."""

from __future__ import annotations

import ipaddress

import pytest

from vitrina.errors import InvalidInput
from vitrina.storage.catalog.projects import DEFAULT_PROJECT
from vitrina.webhooks.addresses import refusal
from vitrina.webhooks.delivery import Deliverer
from vitrina.webhooks.urls import Guard, check_url

PRODUCTION = Guard(allow_http=False, allow_private=False)

REFUSED = [
    ("127.0.0.1", "loopback"), ("127.255.0.9", "loopback"), ("::1", "loopback"),
    ("10.1.2.3", "private"), ("172.16.0.1", "private"), ("192.168.1.1", "private"),
    ("169.254.169.254", "link-local"), ("fe80::1", "link-local"),
    ("fd00::1", "unique-local"), ("fc00::5", "unique-local"),
    ("224.0.0.1", "multicast"), ("ff02::1", "multicast"),
    ("240.0.0.1", "reserved"), ("0.0.0.0", "unspecified"), ("::", "unspecified"),
    ("100.64.0.1", "not public"),  # carrier-grade NAT
    ("::ffff:127.0.0.1", "loopback"), ("::ffff:169.254.169.254", "link-local"), ("::ffff:10.0.0.1", "private"),
    ("64:ff9b::a9fe:a9fe", "link-local"),  # NAT64 of 169.254.169.254
    ("2002:7f00:1::", "loopback"),  # 6to4 of 127.0.0.1
]


@pytest.mark.parametrize(("address", "reason"), REFUSED)
def test_every_non_public_address_is_refused_with_its_reason(address, reason) -> None:
    assert refusal(ipaddress.ip_address(address)) == reason


@pytest.mark.parametrize("address", ["93.184.215.14", "8.8.8.8", "2606:4700:4700::1111", "2a00:1450:4001::1"])
def test_public_addresses_pass(address) -> None:
    assert refusal(ipaddress.ip_address(address)) is None


@pytest.mark.parametrize(("url", "reason"), [
    ("https://127.0.0.1/hook", "loopback"), ("https://[::1]:8443/hook", "loopback"),
    ("https://169.254.169.254/latest/meta-data", "link-local"), ("https://[::ffff:a9fe:a9fe]/", "link-local"),
    ("https://10.0.0.7/", "private"), ("https://[fd12:3456::1]/", "unique-local"),
    ("https://localhost/hook", "loopback"),  # a name is judged by what it resolves to
])
def test_a_subscription_to_a_non_public_host_is_refused_in_production(url, reason) -> None:
    with pytest.raises(InvalidInput) as refused:
        check_url(url, PRODUCTION)
    assert refused.value.code == "webhook_address_refused" and refused.value.details["reason"] == reason


def test_the_setting_and_development_mode_allow_loopback() -> None:
    allowed = Guard(allow_http=True, allow_private=True)
    assert check_url("https://127.0.0.1/hook", allowed) == "https://127.0.0.1/hook"
    assert check_url("http://localhost:8080/hook", allowed) == "http://localhost:8080/hook"


@pytest.mark.parametrize("url", ["http://93.184.215.14/", "ftp://93.184.215.14/", "https://", "not a url",
                                 "https://user:pw@93.184.215.14/", "https://93.184.215.14:99999/",
                                 "https://93.184.215.14/#frag", "https://exa mple.com/", "", None, 42,
                                 "https://a/" + "x" * 2050])
def test_malformed_or_plain_http_urls_are_refused_before_any_lookup(url) -> None:
    with pytest.raises(InvalidInput) as refused:
        check_url(url, PRODUCTION)
    assert refused.value.code == "invalid_webhook_url"


def test_a_delivery_is_judged_again_on_the_address_it_would_reach(rt, receiver) -> None:
    """A name that resolved to a public address when subscribed may resolve to a
    private one later (DNS rebinding): the sender checks what it connects to."""
    url = receiver.url.replace("127.0.0.1", "localhost")
    hook, _ = rt.webhooks.create(DEFAULT_PROJECT, url, ["asset.ready"])  # development mode allows it
    rt.webhooks.ping(DEFAULT_PROJECT, hook.id)
    strict = Deliverer(rt.sessions, rt.settings.webhooks, Guard(allow_http=True, allow_private=False))
    assert strict.run_once("w1") == 1
    assert receiver.got == []
    (logged,) = rt.webhooks.deliveries(DEFAULT_PROJECT, hook.id)
    assert (logged.state, logged.attempts, logged.last_status) == ("failed", 1, None)
    assert logged.last_error.startswith("refused: localhost resolves to ")
    assert logged.last_error.endswith(", a loopback address")
