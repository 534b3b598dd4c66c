"""Signed webhooks (decision 038): subscriptions per project, events written into an
outbox with the change that causes them, deliveries claimed and sent by the pipeline
workers.

The rest of the system emits events with one call each: :func:`asset_settled` (the
queue), :func:`creatives_rejected` (campaign rendering), :func:`guardrails_judged`
(experiment analyses) and ``runtime.webhooks.progress.reported`` (the workers)."""

from vitrina.webhooks.events import EVENT_TYPES, PING
from vitrina.webhooks.outbox import asset_settled, creatives_rejected, emit, guardrails_judged

__all__ = ["EVENT_TYPES", "PING", "asset_settled", "creatives_rejected", "emit", "guardrails_judged"]
