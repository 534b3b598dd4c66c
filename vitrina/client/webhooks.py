"""Webhooks in the SDK: the subscription calls, and :func:`verify` for receivers.

A receiver checks every delivery before trusting it::

    from vitrina.client.webhooks import verify, WebhookSignatureError

    try:
        event = verify(secret, raw_body, headers["Vitrina-Signature"])
    except WebhookSignatureError:
        return 400
    # event["type"], event["data"]; headers["Vitrina-Delivery"] is the same on every
    # retry of one delivery: skip one already handled

The signature is an HMAC-SHA256 with the subscription's secret over
``"<t>.<raw body>"``, sent as ``Vitrina-Signature: t=<unix time>,v1=<hex>``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from vitrina.client.connection import Connection
from vitrina.client.errors import VitrinaClientError
from vitrina.client.paths import segment


class WebhookSignatureError(VitrinaClientError):
    """A delivery whose signature is missing, malformed, wrong or too old: do not trust it."""


def verify(secret: str, body: bytes | str, header: str | None, tolerance: float = 300) -> dict[str, Any]:
    """The event a delivery carries, once its ``Vitrina-Signature`` ``header`` proves
    it was signed with ``secret`` over these exact ``body`` bytes no more than
    ``tolerance`` seconds ago (either way: clocks drift); else :class:`WebhookSignatureError`.
    Pass the raw body as received, before any JSON parsing."""
    raw = body.encode() if isinstance(body, str) else bytes(body)
    if not header:
        raise WebhookSignatureError("no Vitrina-Signature header")
    timestamp, candidates = None, []
    for part in header.split(","):
        name, _, value = part.strip().partition("=")
        if name == "t" and value.isdigit():
            timestamp = int(value)
        elif name == "v1":
            candidates.append(value)
    if timestamp is None or not candidates:
        raise WebhookSignatureError("malformed Vitrina-Signature header: expected t=<unix time>,v1=<hex>")
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + raw, hashlib.sha256).hexdigest()
    if not any(hmac.compare_digest(expected, c) for c in candidates):
        raise WebhookSignatureError("the signature does not match this body and secret")
    if tolerance is not None and abs(time.time() - timestamp) > tolerance:
        raise WebhookSignatureError(f"the signature is older than {tolerance:g} s (a replay?)")
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise WebhookSignatureError("the signed body is not JSON") from exc


@dataclass(frozen=True)
class Webhook:
    """A subscription; ``secret`` is set only in the answer that created it."""

    id: str
    url: str
    events: tuple[str, ...]
    active: bool
    created_at: datetime
    secret: str | None = None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Webhook:
        return cls(id=str(data["id"]), url=str(data["url"]), events=tuple(data["events"]),
                   active=bool(data["active"]), created_at=datetime.fromisoformat(data["created_at"]),
                   secret=data.get("secret"))


@dataclass(frozen=True)
class DeliveryAttempt:
    number: int
    at: datetime
    status_code: int | None
    error: str | None
    duration_ms: float

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> DeliveryAttempt:
        return cls(number=int(data["number"]), at=datetime.fromisoformat(data["at"]),
                   status_code=data.get("status_code"), error=data.get("error"),
                   duration_ms=float(data["duration_ms"]))


def _time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


@dataclass(frozen=True)
class WebhookDelivery:
    """One event sent (or being sent) to a subscription, with every attempt."""

    id: str
    event_id: str
    event: str
    state: str  # pending | sending | delivered | failed
    attempts: int
    last_status: int | None
    last_error: str | None
    created_at: datetime
    next_attempt_at: datetime | None
    finished_at: datetime | None
    log: tuple[DeliveryAttempt, ...]

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> WebhookDelivery:
        return cls(id=str(data["id"]), event_id=str(data["event_id"]), event=str(data["event"]),
                   state=str(data["state"]), attempts=int(data["attempts"]), last_status=data.get("last_status"),
                   last_error=data.get("last_error"), created_at=datetime.fromisoformat(data["created_at"]),
                   next_attempt_at=_time(data.get("next_attempt_at")), finished_at=_time(data.get("finished_at")),
                   log=tuple(DeliveryAttempt.from_json(a) for a in data.get("log") or ()))


class WebhookCalls(Connection):
    """Webhook subscriptions and their delivery logs (an ``admin`` key; see
    :class:`~vitrina.client.Client`)."""

    def create_webhook(self, url: str, events: list[str], *, active: bool = True) -> Webhook:
        """Subscribe ``url`` to ``events``; keep the answer's ``secret`` (shown only now)."""
        return self._parse(Webhook.from_json, self._request(
            "POST", "/v1/webhooks", json={"url": url, "events": list(events), "active": active}))

    def webhooks(self) -> list[Webhook]:
        return self._parse(lambda d: [Webhook.from_json(w) for w in d["items"]],
                           self._request("GET", "/v1/webhooks"))

    def get_webhook(self, webhook_id: str) -> Webhook:
        return self._parse(Webhook.from_json, self._request("GET", f"/v1/webhooks/{segment(webhook_id)}"))

    def delete_webhook(self, webhook_id: str) -> None:
        self._request("DELETE", f"/v1/webhooks/{segment(webhook_id)}")

    def webhook_deliveries(self, webhook_id: str, *, limit: int = 50) -> list[WebhookDelivery]:
        """The newest deliveries first, each with its attempts."""
        return self._parse(lambda d: [WebhookDelivery.from_json(x) for x in d["items"]], self._request(
            "GET", f"/v1/webhooks/{segment(webhook_id)}/deliveries", params={"limit": limit}))

    def ping_webhook(self, webhook_id: str) -> str:
        """Queue a signed ``ping`` to the subscription; the delivery id."""
        return self._parse(lambda d: str(d["delivery_id"]),
                           self._request("POST", f"/v1/webhooks/{segment(webhook_id)}/ping"))
