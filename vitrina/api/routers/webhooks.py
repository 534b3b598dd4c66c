"""/v1/webhooks: a project's signed webhook subscriptions and their delivery logs
(decision 038). Every route needs the ``admin`` scope: a subscription decides where
the project's events leave the system, and its URL may hold the receiver's own
credentials, so it is managed like the project's keys, not by the keys applications
ship with."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from vitrina.api.bodies import json_object
from vitrina.api.deps import get_runtime, project_of, require
from vitrina.api.schemas import json_request
from vitrina.errors import InvalidInput
from vitrina.webhooks.events import EVENT_TYPES
from vitrina.webhooks.service import MAX_DELIVERIES_PAGE, Subscription, WebhookService

router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"], dependencies=[Depends(require("admin"))])
EventType = Literal[EVENT_TYPES]  # type: ignore[valid-type]
FIELDS = {"url", "events", "active"}


class WebhookIn(BaseModel):
    model_config = {"extra": "forbid"}
    url: str = Field(max_length=2048, description="https:// (http:// in development mode or with "
                     "webhooks.allow_http); outside development mode it must resolve to public addresses")
    events: list[EventType] = Field(min_length=1, description="the event types to receive")
    active: bool = True


class WebhookOut(BaseModel):
    id: str
    url: str
    events: list[str]
    active: bool
    created_at: datetime


class WebhookCreated(WebhookOut):
    secret: str = Field(description="signs every delivery (Vitrina-Signature); shown only in this answer")


class WebhookList(BaseModel):
    items: list[WebhookOut]


class AttemptOut(BaseModel):
    number: int
    at: datetime
    status_code: int | None
    error: str | None
    duration_ms: float


class DeliveryOut(BaseModel):
    id: str = Field(description="the Vitrina-Delivery header: the same on every attempt")
    event_id: str
    event: str
    state: Literal["pending", "sending", "delivered", "failed"]
    attempts: int
    last_status: int | None
    last_error: str | None
    created_at: datetime
    next_attempt_at: datetime | None
    finished_at: datetime | None
    log: list[AttemptOut]


class DeliveryList(BaseModel):
    items: list[DeliveryOut]


class PingOut(BaseModel):
    delivery_id: str


def service(request: Request) -> WebhookService:
    return get_runtime(request).webhooks


def out(s: Subscription) -> WebhookOut:
    return WebhookOut(**s.to_dict())


@router.post("", response_model=WebhookCreated, status_code=201, openapi_extra=json_request(WebhookIn))
async def create_webhook(request: Request) -> WebhookCreated:
    """Subscribe a URL to event types; the answer holds the signing secret, once.
    Unknown event types are 400 ``unknown_event_type``; a bad URL ``invalid_webhook_url``;
    a host with a non-public address ``webhook_address_refused``."""
    body = await json_object(request)
    extra = sorted(set(body) - FIELDS)
    if extra:
        raise InvalidInput(f"unknown field {extra[0][:64]!r}; known: {', '.join(sorted(FIELDS))}",
                           details={"unknown": [k[:64] for k in extra[:10]]})
    # off the event loop: outside development mode the URL's host is resolved
    subscription, secret = await run_in_threadpool(service(request).create, project_of(request), body.get("url"),
                                                   body.get("events"), body.get("active", True))
    return WebhookCreated(**subscription.to_dict(), secret=secret)


@router.get("", response_model=WebhookList)
def list_webhooks(request: Request) -> WebhookList:
    """The project's subscriptions, oldest first (never their secrets)."""
    return WebhookList(items=[out(s) for s in service(request).list(project_of(request))])


@router.get("/{webhook_id}", response_model=WebhookOut)
def get_webhook(webhook_id: str, request: Request) -> WebhookOut:
    return out(service(request).get(project_of(request), webhook_id))


@router.delete("/{webhook_id}", status_code=204)
def delete_webhook(webhook_id: str, request: Request) -> Response:
    """Delete the subscription and its delivery log; what it had pending is never sent."""
    service(request).delete(project_of(request), webhook_id)
    return Response(status_code=204)


@router.get("/{webhook_id}/deliveries", response_model=DeliveryList)
def list_deliveries(webhook_id: str, request: Request,
                    limit: int = Query(50, ge=1, le=MAX_DELIVERIES_PAGE)) -> DeliveryList:
    """The newest deliveries first: the event, its state, attempts, the last answer's
    status or error, and the log of every attempt."""
    deliveries = service(request).deliveries(project_of(request), webhook_id, limit)
    return DeliveryList(items=[DeliveryOut(**d.to_dict()) for d in deliveries])


@router.post("/{webhook_id}/ping", response_model=PingOut, status_code=202)
def ping_webhook(webhook_id: str, request: Request) -> PingOut:
    """Queue a signed ``ping`` event to the subscription; its delivery log shows how it went."""
    delivery_id = service(request).ping(project_of(request), webhook_id)
    wake = get_runtime(request).ingestor.on_new_work
    if wake is not None:
        wake()  # in-process workers send it now, not at their next poll
    return PingOut(delivery_id=delivery_id)
