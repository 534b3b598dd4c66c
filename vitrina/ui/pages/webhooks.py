"""Webhooks: the project's subscriptions (URL, events, active, created) with each one's
newest deliveries, a form that subscribes a URL to event types (checked as ``POST
/v1/webhooks`` checks it; a refusal is shown at its field with its stable code), the new
subscription's signing secret shown once, and a ping and a delete per subscription.
Every route needs the ``admin`` scope, as the API's do (decision 038)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Form, Request, Response
from fastapi.responses import RedirectResponse
from starlette.concurrency import run_in_threadpool

from vitrina.access.keys import Principal
from vitrina.api.deps import get_runtime
from vitrina.api.routers.webhooks import service as webhook_service
from vitrina.errors import InvalidInput, VitrinaError
from vitrina.storage.catalog.webhooks import URL_LENGTH
from vitrina.ui.auth import allowed, csrf_checked
from vitrina.ui.context import ui_of
from vitrina.ui.routing import is_htmx, page_router
from vitrina.ui.templates import NAV, NavItem, render
from vitrina.webhooks.events import EVENT_TYPES

router = page_router()
NAV.append(NavItem("Webhooks", "/webhooks"))
Admin = Annotated[Principal, Depends(allowed("admin"))]
#: deliveries shown per subscription, newest first (the API pages through more)
LOGGED = 10
#: room for a URL the service then refuses by name (too long) rather than a bare 400
URL_FIELD = Form(max_length=2 * URL_LENGTH)
EMPTY_FORM: dict[str, object] = {"url": "", "events": []}
#: the layout of a page answered to htmx: its main block alone, swapped into <main>
BARE_LAYOUT = "{% block main %}{% endblock %}"
#: refusals about the URL; those about the event types name the known ones
URL_CODES = frozenset({"invalid_webhook_url", "webhook_address_refused"})


@router.get("/webhooks")
def webhooks(request: Request, principal: Admin) -> Response:
    return _page(request, principal)


def _page(request: Request, principal: Principal, form: dict[str, object] = EMPTY_FORM,
          refused: tuple[str, VitrinaError] | None = None, created: tuple[str, str] | None = None,
          status: int = 200) -> Response:
    """The page; ``created`` is a new subscription's (id, secret), shown this once."""
    service = webhook_service(request)
    subscriptions = service.list(principal.project_id)
    logs = {s.id: service.deliveries(principal.project_id, s.id, LOGGED) for s in subscriptions}
    layout = ui_of(request).templates.from_string(BARE_LAYOUT) if is_htmx(request) else "base.html"
    return render(request, "webhooks.html", status=status, layout=layout, subscriptions=subscriptions,
                  logs=logs, event_types=EVENT_TYPES, form=form, refused=refused, created=created)


@router.post("/ui/webhooks", dependencies=[Depends(csrf_checked)])
async def create(request: Request, principal: Admin, url: Annotated[str, URL_FIELD] = "",
                 events: Annotated[list[str] | None, Form()] = None) -> Response:
    """Subscribe from the form; a refusal shows the form again with the values given.
    The form is sent by htmx, so the page's address stays ``/webhooks`` and reloading
    it shows the list without the secret."""
    form: dict[str, object] = {"url": url.strip(), "events": events or []}
    try:  # off the event loop: outside development mode the URL's host is resolved
        subscription, secret = await run_in_threadpool(webhook_service(request).create, principal.project_id,
                                                       form["url"], form["events"])
    except VitrinaError as exc:
        return _page(request, principal, form, (field_of(exc), exc), status=exc.status)
    return _page(request, principal, created=(subscription.id, secret), status=201)


def field_of(exc: VitrinaError) -> str:
    """The form field a refusal concerns ('' for the form as a whole)."""
    if exc.code in URL_CODES:
        return "url"
    return "events" if "known" in (exc.details or {}) else ""


@router.post("/ui/webhooks/{webhook_id}/ping", dependencies=[Depends(csrf_checked)])
def ping(webhook_id: str, request: Request, principal: Admin) -> Response:
    """Queue a signed ``ping``; the subscription's log follows it until it settles."""
    webhook_service(request).ping(principal.project_id, webhook_id)
    wake = get_runtime(request).ingestor.on_new_work
    if wake is not None:
        wake()  # in-process workers send it now, not at their next poll
    return RedirectResponse(f"/webhooks#hook-{webhook_id}", status_code=303)


@router.post("/ui/webhooks/{webhook_id}/delete", dependencies=[Depends(csrf_checked)])
def delete(webhook_id: str, request: Request, principal: Admin,
           confirm: Annotated[str, Form(max_length=10)] = "") -> Response:
    """Delete with its log; the form's confirmation box must be ticked."""
    if confirm != "yes":
        raise InvalidInput("tick the confirmation to delete this webhook", code="confirmation_needed")
    webhook_service(request).delete(principal.project_id, webhook_id)
    return RedirectResponse("/webhooks", status_code=303)
