"""Checking a subscription's URL: its form, its scheme and, outside development mode,
the addresses its host resolves to (vitrina.webhooks.addresses)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

from vitrina.config import WebhookSettings
from vitrina.errors import InvalidInput
from vitrina.storage.catalog.webhooks import URL_LENGTH
from vitrina.webhooks.addresses import first_refused, resolve

_PRINTABLE = re.compile(r"^[\x21-\x7e]+$")  # no spaces, controls or raw non-ASCII
DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True)
class Guard:
    """What a deployment lets webhooks reach: http besides https, non-public addresses."""

    allow_http: bool
    allow_private: bool

    @classmethod
    def of(cls, settings: WebhookSettings, dev: bool) -> Guard:
        """Development mode allows both; elsewhere the settings say."""
        return cls(dev or settings.allow_http, dev or settings.allow_private_addresses)


def bad_url(message: str, url: str) -> InvalidInput:
    return InvalidInput(message, code="invalid_webhook_url", details={"url": url[:200]})


def split_url(url: object, guard: Guard) -> SplitResult:
    """``url`` taken apart once its form and scheme are right; 400 ``invalid_webhook_url``."""
    if not isinstance(url, str) or not url:
        raise bad_url("url must be a non-empty string", str(url))
    if len(url) > URL_LENGTH or not _PRINTABLE.match(url):
        raise bad_url(f"url must be at most {URL_LENGTH} printable ASCII characters", url)
    schemes = ("https", "http") if guard.allow_http else ("https",)
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise bad_url("url is not a valid URL", url) from None
    if parts.scheme not in schemes:
        raise bad_url(f"url must start with {' or '.join(s + '://' for s in schemes)}", url)
    if not parts.hostname:
        raise bad_url("url must name a host", url)
    if parts.username is not None or parts.password is not None:
        raise bad_url("url must not carry credentials: the signature proves who is calling", url)
    if parts.fragment:
        raise bad_url("url must not have a fragment (#...)", url)
    if port == 0:
        raise bad_url("url must not name port 0", url)
    return parts


def check_url(url: object, guard: Guard) -> str:
    """``url`` when a subscription may use it: its form and scheme, and where the guard
    is on, every address its host resolves to (400 ``webhook_address_refused``)."""
    parts = split_url(url, guard)
    assert isinstance(url, str)
    if not guard.allow_private:
        try:
            addresses = resolve(parts.hostname or "", parts.port or DEFAULT_PORTS[parts.scheme])
        except (OSError, UnicodeError):
            raise bad_url(f"the host {parts.hostname} does not resolve", url) from None
        refused = first_refused(addresses)
        if refused is not None:
            address, reason = refused
            raise InvalidInput(
                f"the host {parts.hostname} resolves to {address}, a {reason} address: webhooks "
                "deliver to public addresses only (webhooks.allow_private_addresses lifts this)",
                code="webhook_address_refused", details={"address": str(address), "reason": reason})
    return url
