"""Sending deliveries: claim due ones with a lease, POST each signed, record the attempt.

The claim is the pipeline queue's (decision 001): one ``UPDATE ... WHERE id IN
(SELECT ... FOR UPDATE SKIP LOCKED LIMIT n) RETURNING``; a worker that dies mid-send
loses its lease and another sends again (the receiver sees the same
``Vitrina-Delivery`` id: it is what makes retries safe to apply twice). An attempt's
outcome and its log row are written in one transaction, by the lease holder only.

Outcomes: a 2xx answer delivers; a 4xx other than 408 and 429 (the receiver refuses
it), a redirect (never followed) or an address the guard refuses fails at once; a
5xx, 408, 429, a timeout or a connection error is retried with exponential back-off and
jitter until ``webhooks.max_attempts``.
"""

from __future__ import annotations

import logging
import random
import ssl
import time
from dataclasses import dataclass
from datetime import timedelta

import httpx
from sqlalchemy import and_, bindparam, insert, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from vitrina import __version__
from vitrina.config import WebhookSettings
from vitrina.errors import VitrinaError
from vitrina.storage.catalog.db import transaction
from vitrina.storage.catalog.models import utcnow
from vitrina.storage.catalog.webhooks import WebhookAttemptRow, WebhookDeliveryRow, WebhookRow
from vitrina.webhooks.addresses import IPAddress, first_refused, resolve
from vitrina.webhooks.signing import DELIVERY_HEADER, EVENT_HEADER, SIGNATURE_HEADER, signature
from vitrina.webhooks.urls import DEFAULT_PORTS, Guard, split_url

log = logging.getLogger("vitrina.webhooks")
DELIVERIES, ATTEMPTS, HOOKS = WebhookDeliveryRow.__table__, WebhookAttemptRow.__table__, WebhookRow.__table__
PENDING, SENDING, DELIVERED, FAILED = "pending", "sending", "delivered", "failed"
RETRIED_4XX = {408, 429}
#: deliveries one worker claims at a time: a slow receiver holds media work back this much at most
CLAIM_LIMIT = 4

_CLAIMABLE = (
    select(DELIVERIES.c.id)
    .where(or_(and_(DELIVERIES.c.state == PENDING, DELIVERIES.c.next_attempt_at <= bindparam("p_t")),
               and_(DELIVERIES.c.state == SENDING, DELIVERIES.c.lease_until < bindparam("p_t"))))
    .order_by(DELIVERIES.c.next_attempt_at, DELIVERIES.c.id)
    .limit(bindparam("p_limit"))
    .with_for_update(skip_locked=True)  # PostgreSQL: claimers pass each other's rows by
)
_TAKE = (
    update(DELIVERIES)
    .where(DELIVERIES.c.id.in_(_CLAIMABLE.scalar_subquery()))
    .values(state=SENDING, attempts=DELIVERIES.c.attempts + 1, worker_id=bindparam("p_worker"),
            lease_until=bindparam("p_lease"))
    .returning(DELIVERIES.c.id, DELIVERIES.c.webhook_id, DELIVERIES.c.attempts)
)
_OWNED = update(DELIVERIES).where(DELIVERIES.c.id == bindparam("p_id"), DELIVERIES.c.state == SENDING,
                                  DELIVERIES.c.worker_id == bindparam("p_worker"),
                                  DELIVERIES.c.attempts == bindparam("p_attempts"))


@dataclass(frozen=True)
class Claimed:
    """A delivery this worker holds, with what sending it needs."""

    id: str
    attempts: int
    worker_id: str
    event_type: str
    body: str
    url: str
    secret: str
    active: bool


@dataclass(frozen=True)
class Outcome:
    """One attempt: the answer's status, or why there was none; what happens next."""

    state: str  # delivered | failed | pending (to be retried)
    status_code: int | None = None
    error: str | None = None


def verdict(status_code: int) -> Outcome:
    """What an answer's status means for the delivery."""
    if 200 <= status_code < 300:
        return Outcome(DELIVERED, status_code)
    if status_code >= 500 or status_code in RETRIED_4XX:
        return Outcome(PENDING, status_code, f"the receiver answered {status_code}")
    if 300 <= status_code < 400:
        return Outcome(FAILED, status_code, f"the receiver answered {status_code}: redirects are not followed")
    return Outcome(FAILED, status_code, f"the receiver answered {status_code}: not retried")


class Deliverer:
    def __init__(self, sessions: sessionmaker[Session], settings: WebhookSettings, guard: Guard) -> None:
        self.sessions = sessions
        self.settings = settings
        self.guard = guard
        #: a lease outlives the longest attempt
        self.lease = timedelta(seconds=max(settings.lease_seconds, settings.timeout_seconds * 2))
        self._tls: ssl.SSLContext | None = None

    def tls(self) -> ssl.SSLContext:
        """The certificate store, loaded once: loading it is most of a new client's cost (~65 ms)."""
        if self._tls is None:
            self._tls = httpx.create_ssl_context()
        return self._tls

    def run_once(self, worker_id: str, limit: int = CLAIM_LIMIT) -> int:
        """Send the due deliveries this worker could claim (at most ``limit``); how many."""
        claims = self.claim(worker_id, limit)
        for claimed in claims:
            started = time.perf_counter()
            outcome = self.attempt(claimed)
            self.record(claimed, outcome, (time.perf_counter() - started) * 1000)
        return len(claims)

    def claim(self, worker_id: str, limit: int) -> list[Claimed]:
        t = utcnow()
        with transaction(self.sessions) as s:
            taken = s.execute(_TAKE, {"p_t": t, "p_limit": limit, "p_worker": worker_id,
                                      "p_lease": t + self.lease}).all()
            if not taken:
                return []
            attempts = {r.id: r.attempts for r in taken}
            rows = s.execute(
                select(DELIVERIES.c.id, DELIVERIES.c.event_type, DELIVERIES.c.body, HOOKS.c.url,
                       HOOKS.c.secret, HOOKS.c.active)
                .join(HOOKS, HOOKS.c.id == DELIVERIES.c.webhook_id)
                .where(DELIVERIES.c.id.in_(list(attempts)))).all()
        return [Claimed(r.id, attempts[r.id], worker_id, r.event_type, r.body, r.url, r.secret, r.active)
                for r in rows]

    def attempt(self, claimed: Claimed) -> Outcome:
        """Send ``claimed`` once (no exception escapes: every failure is an outcome)."""
        if not claimed.active:
            return Outcome(FAILED, error="the subscription is inactive")
        if claimed.attempts > self.settings.max_attempts:  # its workers died on every attempt
            return Outcome(FAILED, error="the worker sending it stopped on every attempt")
        try:
            parts = split_url(claimed.url, self.guard)
            host, port = parts.hostname or "", parts.port or DEFAULT_PORTS[parts.scheme]
            addresses = resolve(host, port)
        except (OSError, UnicodeError) as exc:
            return Outcome(PENDING, error=f"cannot resolve the host: {exc}"[:500])
        except VitrinaError as exc:  # the URL no longer passes (the settings changed)
            return Outcome(FAILED, error=exc.message[:500])
        if not self.guard.allow_private and (refused := first_refused(addresses)):
            address, reason = refused
            log.warning("webhook delivery %s refused: %s resolves to %s (%s)", claimed.id, host, address, reason)
            return Outcome(FAILED, error=f"refused: {host} resolves to {address}, a {reason} address")
        return self._post(claimed, parts.scheme, host, port, addresses[0], parts)

    def _post(self, claimed: Claimed, scheme: str, host: str, port: int, address: IPAddress, parts) -> Outcome:
        """POST to the checked ``address`` itself (the name is not resolved again, so it
        cannot be rebound to another address in between), with the URL's host in the
        Host header and, over TLS, as the name the certificate must carry."""
        literal = f"[{address}]" if address.version == 6 else str(address)
        target = f"{scheme}://{literal}:{port}{parts.path or '/'}" + (f"?{parts.query}" if parts.query else "")
        body = claimed.body.encode()
        headers = {
            "Host": parts.netloc, "Content-Type": "application/json",
            "User-Agent": f"Vitrina-Webhooks/{__version__}",
            SIGNATURE_HEADER: signature(claimed.secret, int(time.time()), body),
            EVENT_HEADER: claimed.event_type, DELIVERY_HEADER: claimed.id,
        }
        extensions = {"sni_hostname": host} if scheme == "https" else {}
        try:
            # a client per attempt: a pooled connection made for one name must not serve another
            with httpx.Client(timeout=self.settings.timeout_seconds, follow_redirects=False, verify=self.tls(),
                              trust_env=False) as http:  # no proxy: the checked address is the one reached
                response = http.post(target, content=body, headers=headers, extensions=extensions)
        except httpx.TimeoutException:
            return Outcome(PENDING, error=f"no answer within {self.settings.timeout_seconds:g} s")
        except httpx.HTTPError as exc:
            return Outcome(PENDING, error=f"cannot reach the receiver: {type(exc).__name__}: {exc}"[:500])
        return verdict(response.status_code)

    def record(self, claimed: Claimed, outcome: Outcome, duration_ms: float) -> bool:
        """Write the attempt and the delivery's next state; False when the lease went to
        another worker (nothing is written: its attempt is the one kept)."""
        t = utcnow()
        values: dict = {"last_status": outcome.status_code, "last_error": outcome.error, "lease_until": None}
        if outcome.state == PENDING and claimed.attempts < self.settings.max_attempts:
            values.update(state=PENDING, next_attempt_at=t + self.backoff(claimed.attempts))
        else:
            values.update(state=outcome.state if outcome.state != PENDING else FAILED, finished_at=t)
        with transaction(self.sessions) as s:
            owned = s.execute(_OWNED.values(**values), {"p_id": claimed.id, "p_worker": claimed.worker_id,
                                                        "p_attempts": claimed.attempts}).rowcount
            if owned:
                s.execute(insert(ATTEMPTS), {"delivery_id": claimed.id, "number": claimed.attempts, "at": t,
                                             "status_code": outcome.status_code, "error": outcome.error,
                                             "duration_ms": round(duration_ms, 3)})
        return bool(owned)

    def backoff(self, attempts: int) -> timedelta:
        base = self.settings.retry_base_seconds * 2 ** max(attempts - 1, 0)
        seconds = min(base * random.uniform(0.75, 1.25), self.settings.retry_max_seconds)  # jitter spreads retries
        return timedelta(seconds=seconds)

