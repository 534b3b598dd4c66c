"""projects: create, list, show, rename and delete projects, set their quotas, and
manage their URL signing keys (as an organisation admin would)."""

from __future__ import annotations

import json

import click

from vitrina.cli.common import runtime_of
from vitrina.cli.usage import usage as usage_command


def _projects(ctx: click.Context):
    return runtime_of(ctx).projects


def _quota(_ctx: click.Context, _param: click.Parameter,
           values: tuple[str, ...]) -> dict[str, int | None]:
    out: dict[str, int | None] = {}
    for item in values:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise click.BadParameter(f"{item!r}: write NAME=VALUE, or NAME= to remove an override")
        try:
            out[name] = None if value == "" else int(value)
        except ValueError:
            raise click.BadParameter(f"{item!r}: a quota is a whole number") from None
    return out


@click.group()
def projects() -> None:
    """Projects: one per product team; everything lives in 'default' until you add more."""


@projects.command("create")
@click.argument("project_id", metavar="ID")
@click.option("--name", default=None, help="A readable name (default: the id).")
@click.pass_context
def create(ctx: click.Context, project_id: str, name: str | None) -> None:
    """Create project ID (lowercase letters, digits and dashes)."""
    record = _projects(ctx).create(project_id, name)
    click.echo(f"created {record.id}")


@projects.command("ls")
@click.pass_context
def ls(ctx: click.Context) -> None:
    """List projects with their names and quota overrides."""
    click.echo(f"{'id':24}  {'name':30}  quotas")
    for p in _projects(ctx).list():
        quotas = ",".join(f"{k}={v}" for k, v in p.quotas.items()) or "-"
        click.echo(f"{p.id:24}  {p.name:30}  {quotas}")


@projects.command("show")
@click.argument("project_id", metavar="ID")
@click.pass_context
def show(ctx: click.Context, project_id: str) -> None:
    """Show one project as JSON."""
    record = _projects(ctx).get(project_id)
    click.echo(json.dumps(record.to_dict(), indent=2, default=str))


@projects.command("rename")
@click.argument("project_id", metavar="ID")
@click.argument("name")
@click.pass_context
def rename(ctx: click.Context, project_id: str, name: str) -> None:
    """Give project ID a new readable name (its id never changes)."""
    _projects(ctx).update(project_id, name=name)
    click.echo(f"renamed {project_id}")


@projects.command("set-quota")
@click.argument("project_id", metavar="ID")
@click.argument("quotas", nargs=-1, required=True, callback=_quota, metavar="NAME=VALUE...")
@click.pass_context
def set_quota(ctx: click.Context, project_id: str, quotas: dict[str, int | None]) -> None:
    """Override quotas of project ID: max_bytes, max_assets, uploads_per_minute,
    renders_per_minute (e.g. max_assets=10000); NAME= removes an override."""
    record = _projects(ctx).update(project_id, quotas=quotas)
    click.echo(json.dumps(record.quotas))


@projects.command("delete")
@click.argument("project_id", metavar="ID")
@click.pass_context
def delete(ctx: click.Context, project_id: str) -> None:
    """Delete project ID with its API and signing keys; refused while it holds assets,
    experiments or events, and for the default project."""
    _projects(ctx).delete(project_id)
    click.echo(f"deleted {project_id}")


@projects.group("signing-key")
def signing_key() -> None:
    """URL signing keys of a project other than 'default' (whose keys are VITRINA_SIGNING__KEYS)."""


@signing_key.command("create")
@click.argument("project_id", metavar="PROJECT")
@click.pass_context
def signing_key_create(ctx: click.Context, project_id: str) -> None:
    """Make a new signing key for PROJECT and print its id and secret, once. The newest
    key signs new URLs (`vitrina url --project PROJECT`); older ones keep verifying."""
    key = _projects(ctx).create_signing_key(project_id)
    click.echo(f"{key.id} {key.secret}")


@signing_key.command("ls")
@click.argument("project_id", metavar="PROJECT")
@click.pass_context
def signing_key_ls(ctx: click.Context, project_id: str) -> None:
    """List PROJECT's signing keys (never their secrets), oldest first."""
    keys = _projects(ctx).signing_keys(project_id)
    for k in keys:
        state = f"revoked {k.revoked_at:%Y-%m-%d %H:%M}" if k.revoked_at else "active"
        click.echo(f"{k.id}  {k.created_at:%Y-%m-%d %H:%M:%S}  {state}")


@signing_key.command("revoke")
@click.argument("project_id", metavar="PROJECT")
@click.argument("key_id")
@click.pass_context
def signing_key_revoke(ctx: click.Context, project_id: str, key_id: str) -> None:
    """Revoke one of PROJECT's signing keys: URLs it signed stop working within
    VITRINA_DELIVERY__SIGNING_KEYS_TTL_SECONDS on every server."""
    _projects(ctx).revoke_signing_key(project_id, key_id)
    click.echo(f"revoked {key_id}")


COMMANDS = [projects]


# the same report under the projects group, where operators look for per-team figures
projects.add_command(usage_command, "usage")
