"""Writing events into the outbox: one delivery row per subscription that wants the
event, in the caller's transaction, so the event is kept exactly when the change that
caused it is (decision 038). Workers send them (vitrina.webhooks.delivery).

These are the calls the rest of the system makes; each costs one indexed read when the
project has no subscription."""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from vitrina.ids import new_id
from vitrina.storage.catalog.db import transaction
from vitrina.storage.catalog.models import Asset, utcnow
from vitrina.storage.catalog.webhooks import WebhookDeliveryRow, WebhookRow
from vitrina.webhooks.events import event_body

HOOKS, DELIVERIES, ASSETS = WebhookRow.__table__, WebhookDeliveryRow.__table__, Asset.__table__
PENDING = "pending"
#: the asset states that are news
SETTLED = {"ready": "asset.ready", "failed": "asset.failed"}


def write_event(s: Session, project: str, event_type: str, data: dict[str, Any],
                webhook_ids: Iterable[str], dedupe: str | None = None) -> list[str]:
    """One delivery of a new event per subscription in ``webhook_ids``, skipping those
    that already have one with ``dedupe``; the delivery ids."""
    targets = list(webhook_ids)
    if dedupe is not None and targets:
        seen = set(s.scalars(select(DELIVERIES.c.webhook_id).where(
            DELIVERIES.c.webhook_id.in_(targets), DELIVERIES.c.dedupe_key == dedupe)))
        targets = [t for t in targets if t not in seen]
    if not targets:
        return []
    event_id, t = new_id(), utcnow()
    body = event_body(event_id, event_type, project, int(time.time()), data)
    rows = [{"id": new_id(), "webhook_id": target, "event_id": event_id, "event_type": event_type,
             "body": body, "dedupe_key": dedupe, "state": PENDING, "attempts": 0,
             "next_attempt_at": t, "created_at": t} for target in targets]
    s.execute(insert(DELIVERIES), rows)
    return [r["id"] for r in rows]


def emit(s: Session, project: str, event_type: str, data: dict[str, Any], dedupe: str | None = None) -> int:
    """Queue ``event_type`` for every active subscription of ``project`` that wants it;
    how many deliveries were written."""
    return len(write_event(s, project, event_type, data, subscribers(s, project, event_type), dedupe))


def subscribers(s: Session, project: str, event_type: str) -> list[str]:
    """The ids of ``project``'s active subscriptions that want ``event_type``."""
    rows = s.execute(select(HOOKS.c.id, HOOKS.c.events)
                     .where(HOOKS.c.project_id == project, HOOKS.c.active.is_(True))).all()
    return _wanting(rows, event_type)


def _wanting(rows: Iterable[Any], event_type: str) -> list[str]:
    return [r.id for r in rows if event_type in (r.events or ())]


def asset_settled(s: Session, asset_id: str, status: str, error: str | None) -> None:
    """The asset became ``ready`` or ``failed`` (another status is no news)."""
    event_type = SETTLED.get(status)
    if event_type is None:
        return
    rows = s.execute(
        select(ASSETS.c.project_id, ASSETS.c.kind, HOOKS.c.id, HOOKS.c.events)
        .join(HOOKS, HOOKS.c.project_id == ASSETS.c.project_id)
        .where(ASSETS.c.id == asset_id, HOOKS.c.active.is_(True))).all()
    targets = _wanting(rows, event_type)
    if targets:
        data = {"asset_id": asset_id, "kind": rows[0].kind, "status": status}
        if error is not None:
            data["error"] = error[:500]
        write_event(s, rows[0].project_id, event_type, data, targets)


def guardrails_judged(sessions: sessionmaker[Session], project: str, experiment: str, revision: int,
                      guardrails: Iterable[Any]) -> int:
    """An analysis judged ``guardrails``; each one at ``stop`` is an
    ``experiment.guardrail_breached`` event, once per experiment revision, metric and
    variant however often it is analysed. How many deliveries were written."""
    written = 0
    for g in guardrails:
        if str(g.status) != "stop":
            continue
        data = {"experiment": experiment, "revision": revision, "metric": g.metric, "variant": g.variant,
                "effect": g.effect, "ci_low": g.ci_low, "ci_high": g.ci_high, "tolerance": g.tolerance}
        try:
            with transaction(sessions) as s:
                written += emit(s, project, "experiment.guardrail_breached", data,
                                dedupe=f"guardrail:{experiment}:{revision}:{g.metric}:{g.variant}"[:255])
        except IntegrityError:  # another analysis wrote it at the same moment
            pass
    return written


def creatives_rejected(s: Session, rows: Iterable[Any]) -> None:
    """Creative rows being stored; each ``rejected`` one is a ``creative.rejected`` event."""
    targets: dict[str, list[str]] = {}
    for row in rows:
        if row.status != "rejected":
            continue
        if row.project_id not in targets:
            targets[row.project_id] = subscribers(s, row.project_id, "creative.rejected")
        write_event(s, row.project_id, "creative.rejected", {
            "creative_id": row.creative_id, "campaign": row.campaign, "item_id": row.item_id,
            "placement": row.placement, "failures": list((row.gates or {}).get("failures") or []),
        }, targets[row.project_id])
