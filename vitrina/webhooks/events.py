"""The events a subscription can ask for, and the JSON every delivery carries."""

from __future__ import annotations

import json
from typing import Any

#: every event type a subscription may name, in the order the docs list them
EVENT_TYPES = (
    "asset.ready",
    "asset.failed",
    "video.progress",
    "experiment.guardrail_breached",
    "creative.rejected",
)
#: sent by ``POST /v1/webhooks/{id}/ping`` whatever the subscription asks for
PING = "ping"


def event_body(event_id: str, event_type: str, project: str, created: int, data: dict[str, Any]) -> str:
    """The payload as sent: ``{"id", "type", "created", "project", "data"}``, compact
    JSON; it is stored with the delivery, so every attempt sends (and signs) the same bytes."""
    return json.dumps({"id": event_id, "type": event_type, "created": created, "project": project,
                       "data": data}, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
