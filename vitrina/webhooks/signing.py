"""Signing deliveries as Stripe and GitHub do: an HMAC-SHA256 with the subscription's
secret over ``"<unix time>.<raw body>"``, sent as ``Vitrina-Signature: t=<time>,v1=<hex>``.
The time is the attempt's, inside the signature, so a receiver can refuse old replays;
``vitrina.client.webhooks.verify`` checks it."""

from __future__ import annotations

import hashlib
import hmac
import secrets

SIGNATURE_HEADER = "Vitrina-Signature"
EVENT_HEADER = "Vitrina-Event"
DELIVERY_HEADER = "Vitrina-Delivery"
SECRET_PREFIX = "whsec_"


def new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The ``Vitrina-Signature`` header's value for ``body`` sent at ``timestamp``."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"
