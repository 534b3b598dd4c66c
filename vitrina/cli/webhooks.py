"""webhooks: signed event deliveries to a project's URLs (decision 038)."""

from __future__ import annotations

import json
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import click

from vitrina.cli.assets import PROJECT
from vitrina.cli.common import runtime_of
from vitrina.webhooks.events import EVENT_TYPES
from vitrina.webhooks.service import MAX_DELIVERIES_PAGE, WebhookService

#: the largest delivery body `webhooks listen` reads
MAX_BODY = 1024 * 1024


def _service(ctx: click.Context) -> WebhookService:
    return runtime_of(ctx).webhooks


def _when(t) -> str:
    return t.isoformat(timespec="seconds") if t is not None else "-"


@click.group()
def webhooks() -> None:
    """Signed webhooks: add a subscription, list, remove, read its deliveries, ping it,
    and listen for deliveries locally.

    Workers (`vitrina worker`, or those inside `vitrina serve`) send the deliveries."""


@webhooks.command("add")
@click.argument("url")
@click.option("--event", "events", multiple=True, required=True, type=click.Choice(EVENT_TYPES),
              help="An event type to receive; repeat for several.")
@click.option("--inactive", is_flag=True, help="Create it switched off (nothing is queued for it).")
@PROJECT
@click.pass_context
def webhooks_add(ctx: click.Context, url: str, events: tuple[str, ...], inactive: bool, project: str) -> None:
    """Subscribe URL to events; prints the subscription with its signing secret (shown only now)."""
    subscription, secret = _service(ctx).create(project, url, list(events), not inactive)
    click.echo(json.dumps(subscription.to_dict() | {"secret": secret}, default=str, indent=2))


@webhooks.command("ls")
@PROJECT
@click.pass_context
def webhooks_ls(ctx: click.Context, project: str) -> None:
    """List the project's subscriptions, oldest first."""
    click.echo(f"{'id':32}  {'active':6}  {'events':40}  url")
    for s in _service(ctx).list(project):
        click.echo(f"{s.id:32}  {'yes' if s.active else 'no':6}  {','.join(s.events):40}  {s.url}")


@webhooks.command("rm")
@click.argument("webhook_id")
@PROJECT
@click.pass_context
def webhooks_rm(ctx: click.Context, webhook_id: str, project: str) -> None:
    """Delete a subscription and its delivery log (pending deliveries are never sent)."""
    _service(ctx).delete(project, webhook_id)
    click.echo(f"deleted {webhook_id}")


@webhooks.command("deliveries")
@click.argument("webhook_id")
@click.option("--limit", type=click.IntRange(1, MAX_DELIVERIES_PAGE), default=20, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Every field and attempt, as JSON.")
@PROJECT
@click.pass_context
def webhooks_deliveries(ctx: click.Context, webhook_id: str, limit: int, as_json: bool, project: str) -> None:
    """The subscription's newest deliveries: event, state, attempts, last answer or error."""
    found = _service(ctx).deliveries(project, webhook_id, limit)
    if as_json:
        click.echo(json.dumps([d.to_dict() for d in found], default=str, indent=2))
        return
    click.echo(f"{'delivery':32}  {'event':30}  {'state':9}  {'tries':>5}  {'last':>4}  created")
    for d in found:
        last = str(d.last_status) if d.last_status is not None else "-"
        click.echo(f"{d.id:32}  {d.event:30}  {d.state:9}  {d.attempts:>5}  {last:>4}  {_when(d.created_at)}"
                   + (f"  {d.last_error}" if d.last_error else ""))


@webhooks.command("ping")
@click.argument("webhook_id")
@PROJECT
@click.pass_context
def webhooks_ping(ctx: click.Context, webhook_id: str, project: str) -> None:
    """Queue a signed ping event to the subscription; prints the delivery id."""
    click.echo(_service(ctx).ping(project, webhook_id))


@webhooks.command("listen")
@click.option("--secret", envvar="VITRINA_WEBHOOK_SECRET", required=True,
              help="The subscription's signing secret (or VITRINA_WEBHOOK_SECRET).")
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to bind.")
@click.option("--port", type=click.IntRange(1, 65535), default=9000, show_default=True)
def webhooks_listen(secret: str, host: str, port: int) -> None:
    """A receiver for trying webhooks out: prints each delivery whose signature verifies
    (delivery id, event type, data) and answers 204; refuses the others with 400."""
    server = listener(secret, host, port)
    click.echo(f"listening on http://{host}:{port}/ (Ctrl-C stops)", err=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


def listener(secret: str, host: str, port: int) -> ThreadingHTTPServer:
    """The receiver of `webhooks listen`, bound to ``host:port`` (0: any free port), not yet serving."""
    from vitrina.client.webhooks import WebhookSignatureError, verify

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(min(int(self.headers.get("Content-Length") or 0), MAX_BODY))
            try:
                event = verify(secret, body, self.headers.get("Vitrina-Signature"))
                click.echo(f"{self.headers.get('Vitrina-Delivery')} {event['type']} "
                           f"{json.dumps(event['data'], sort_keys=True)}")
                self.send_response(204)
            except (WebhookSignatureError, KeyError, TypeError) as exc:
                click.echo(f"refused: {exc}", err=True)
                self.send_response(400)
            self.end_headers()

        def log_message(self, *args: object) -> None:  # one line per event is enough
            pass

    return ThreadingHTTPServer((host, port), Receiver)


COMMANDS = [webhooks]
