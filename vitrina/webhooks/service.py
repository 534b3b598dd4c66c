"""The webhook service: what the API and the CLI do with subscriptions and their
delivery logs. Every call names the caller's project; another project's subscription
answers exactly as a missing one (decision 010)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session, sessionmaker

from vitrina.config import Settings
from vitrina.errors import Conflict, InvalidInput, NotFound
from vitrina.ids import is_id, new_id
from vitrina.storage.catalog.db import transaction
from vitrina.storage.catalog.models import utcnow
from vitrina.storage.catalog.webhooks import WebhookAttemptRow, WebhookDeliveryRow, WebhookRow
from vitrina.webhooks.delivery import PENDING, Deliverer
from vitrina.webhooks.events import EVENT_TYPES, PING
from vitrina.webhooks.outbox import write_event
from vitrina.webhooks.progress import ProgressEvents
from vitrina.webhooks.signing import new_secret
from vitrina.webhooks.urls import Guard, check_url

MAX_DELIVERIES_PAGE = 200


@dataclass(frozen=True)
class Subscription:
    """A subscription as listed: never its secret."""

    id: str
    url: str
    events: tuple[str, ...]
    active: bool
    created_at: datetime

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "url": self.url, "events": list(self.events), "active": self.active,
                "created_at": self.created_at}


@dataclass(frozen=True)
class Attempt:
    number: int
    at: datetime
    status_code: int | None
    error: str | None
    duration_ms: float

    def to_dict(self) -> dict[str, Any]:
        return {"number": self.number, "at": self.at, "status_code": self.status_code, "error": self.error,
                "duration_ms": self.duration_ms}


@dataclass(frozen=True)
class Delivery:
    """One event for one subscription, and every attempt to send it."""

    id: str
    event_id: str
    event: str
    state: str  # pending | sending | delivered | failed
    attempts: int
    last_status: int | None
    last_error: str | None
    created_at: datetime
    next_attempt_at: datetime | None  # only a pending delivery is tried again
    finished_at: datetime | None
    log: tuple[Attempt, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "event_id": self.event_id, "event": self.event, "state": self.state,
                "attempts": self.attempts, "last_status": self.last_status, "last_error": self.last_error,
                "created_at": self.created_at, "next_attempt_at": self.next_attempt_at,
                "finished_at": self.finished_at, "log": [a.to_dict() for a in self.log]}


def check_events(events: object) -> list[str]:
    """The event types, without repeats; 400 ``unknown_event_type`` for one not in
    :data:`EVENT_TYPES`, ``invalid_input`` for anything but a non-empty list of strings."""
    if not isinstance(events, list) or not events or not all(isinstance(e, str) for e in events):
        raise InvalidInput(f"events must be a non-empty list among {', '.join(EVENT_TYPES)}",
                           details={"known": list(EVENT_TYPES)})
    unknown = [e for e in events if e not in EVENT_TYPES]
    if unknown:
        raise InvalidInput(f"unknown event type {unknown[0][:64]!r}; known: {', '.join(EVENT_TYPES)}",
                           code="unknown_event_type",
                           details={"unknown": [e[:64] for e in unknown[:10]], "known": list(EVENT_TYPES)})
    return list(dict.fromkeys(events))


class WebhookService:
    def __init__(self, sessions: sessionmaker[Session], settings: Settings) -> None:
        self.sessions = sessions
        self.settings = settings.webhooks
        self.guard = Guard.of(settings.webhooks, settings.dev)
        #: sends due deliveries; pipeline workers call ``deliverer.run_once`` between steps
        self.deliverer = Deliverer(sessions, settings.webhooks, self.guard)
        #: turns video steps' progress reports into thinned-out events
        self.progress = ProgressEvents(sessions, settings.webhooks)

    # --- subscriptions ---------------------------------------------------------------
    def create(self, project: str, url: object, events: object, active: object = True) -> tuple[Subscription, str]:
        """A new subscription and its signing secret (shown this once)."""
        if not isinstance(active, bool):
            raise InvalidInput("active must be true or false", details={"active": str(active)[:20]})
        wanted = check_events(events)
        url = check_url(url, self.guard)
        row = WebhookRow(id=new_id(), project_id=project, url=url, events=wanted, secret=new_secret(),
                         active=active, created_at=utcnow())
        with transaction(self.sessions) as s:
            held = s.scalar(select(func.count()).select_from(WebhookRow).where(WebhookRow.project_id == project))
            if held >= self.settings.max_subscriptions:
                raise Conflict(f"the project holds {held} webhooks, its most (webhooks.max_subscriptions)",
                               code="webhook_limit_reached", details={"limit": self.settings.max_subscriptions})
            s.add(row)
        return _subscription(row), row.secret

    def list(self, project: str) -> list[Subscription]:
        """Oldest first."""
        with self.sessions() as s:
            rows = s.scalars(select(WebhookRow).where(WebhookRow.project_id == project).order_by(WebhookRow.id))
            return [_subscription(r) for r in rows]

    def get(self, project: str, webhook_id: str) -> Subscription:
        with self.sessions() as s:
            return _subscription(_row(s, project, webhook_id))

    def delete(self, project: str, webhook_id: str) -> None:
        """Delete the subscription with its deliveries (pending ones are never sent)."""
        with transaction(self.sessions) as s:
            row = _row(s, project, webhook_id)
            s.execute(delete(WebhookRow).where(WebhookRow.id == row.id))

    # --- deliveries ------------------------------------------------------------------
    def ping(self, project: str, webhook_id: str) -> str:
        """Queue a ``ping`` event to the subscription (whatever events it asked for); its delivery id."""
        with transaction(self.sessions) as s:
            row = _row(s, project, webhook_id)
            return write_event(s, project, PING, {"webhook_id": row.id}, [row.id])[0]

    def deliveries(self, project: str, webhook_id: str, limit: int = 50) -> list[Delivery]:
        """The subscription's newest deliveries first, each with its attempts."""
        if not 1 <= limit <= MAX_DELIVERIES_PAGE:
            raise InvalidInput(f"limit must be between 1 and {MAX_DELIVERIES_PAGE}", details={"limit": limit})
        with self.sessions() as s:
            row = _row(s, project, webhook_id)
            rows = s.scalars(select(WebhookDeliveryRow).where(WebhookDeliveryRow.webhook_id == row.id)
                             .order_by(WebhookDeliveryRow.id.desc()).limit(limit)).all()
            log: dict[str, list[Attempt]] = {}
            for a in s.scalars(select(WebhookAttemptRow)
                               .where(WebhookAttemptRow.delivery_id.in_([d.id for d in rows]))
                               .order_by(WebhookAttemptRow.delivery_id, WebhookAttemptRow.number)):
                log.setdefault(a.delivery_id, []).append(
                    Attempt(a.number, a.at, a.status_code, a.error, a.duration_ms))
        return [Delivery(d.id, d.event_id, d.event_type, d.state, d.attempts, d.last_status, d.last_error,
                         d.created_at, d.next_attempt_at if d.state == PENDING else None, d.finished_at,
                         tuple(log.get(d.id, ()))) for d in rows]

    def deliver_due(self, worker_id: str) -> int:
        """Send the due deliveries this worker can claim; how many."""
        return self.deliverer.run_once(worker_id)


def _row(s: Session, project: str, webhook_id: str) -> WebhookRow:
    row = s.get(WebhookRow, webhook_id) if is_id(webhook_id) else None
    if row is None or row.project_id != project:
        raise NotFound(f"no webhook {webhook_id[:40]}", code="webhook_not_found",
                       details={"webhook_id": webhook_id[:40]})
    return row


def _subscription(row: WebhookRow) -> Subscription:
    return Subscription(row.id, row.url, tuple(row.events), row.active, row.created_at)
