"""collections: named sets of a project's assets (decision 022)."""

from __future__ import annotations

import json

import click

from vitrina.assets.records import MAX_PAGE
from vitrina.cli.assets import PROJECT
from vitrina.cli.common import runtime_of
from vitrina.collections.repository import CollectionRecord
from vitrina.collections.service import CollectionService
from vitrina.errors import NotFound


def _service(ctx: click.Context) -> CollectionService:
    return CollectionService.of(runtime_of(ctx))


def _json(c: CollectionRecord) -> dict:
    return {"id": c.id, "name": c.name, "description": c.description, "asset_count": c.asset_count,
            "created_at": c.created_at.isoformat(), "updated_at": c.updated_at.isoformat()}


@click.group()
def collections() -> None:
    """Named sets of assets: create, list, show, add and remove assets, delete."""


@collections.command("create")
@click.argument("name")
@click.option("--description", help="What the collection is for.")
@PROJECT
@click.pass_context
def collections_create(ctx: click.Context, name: str, description: str | None, project: str) -> None:
    """Create a collection called NAME (unique in the project); prints its id."""
    click.echo(_service(ctx).create(project, name, description).id)


@collections.command("ls")
@click.option("--limit", type=click.IntRange(1, MAX_PAGE), default=50, show_default=True)
@PROJECT
@click.pass_context
def collections_ls(ctx: click.Context, limit: int, project: str) -> None:
    """List the newest collections."""
    click.echo(f"{'id':32}  {'assets':>6}  name")
    for c in _service(ctx).list(project, limit=limit).items:
        click.echo(f"{c.id:32}  {c.asset_count:>6}  {c.name}")


@collections.command("show")
@click.argument("collection_id")
@click.option("--limit", type=click.IntRange(1, MAX_PAGE), default=50, show_default=True,
              help="How many of its newest assets to list.")
@PROJECT
@click.pass_context
def collections_show(ctx: click.Context, collection_id: str, limit: int, project: str) -> None:
    """Print a collection and the ids of its newest assets, as JSON."""
    c = _service(ctx).get(project, collection_id)
    page = runtime_of(ctx).assets.list(project, collection=c.id, limit=limit)
    click.echo(json.dumps(_json(c) | {"assets": [a.id for a in page.items]}, indent=2))


def _member_command(name: str, add: bool, help_text: str) -> None:
    """``collections add`` and ``collections rm``: the same arguments, opposite effects."""

    @collections.command(name, help=help_text)
    @click.argument("collection_id")
    @click.argument("asset_ids", nargs=-1, required=True, metavar="ASSET_ID...")
    @PROJECT
    @click.pass_context
    def command(ctx: click.Context, collection_id: str, asset_ids: tuple[str, ...], project: str) -> None:
        _members(ctx, collection_id, asset_ids, project, add=add)


_member_command("add", True, "Put assets in a collection (one already there stays once).")
_member_command("rm", False, "Take assets out of a collection (the assets stay in the catalog).")


def _members(ctx: click.Context, collection_id: str, asset_ids: tuple[str, ...], project: str, *,
             add: bool) -> None:
    service = _service(ctx)
    service.get(project, collection_id)  # an unknown collection ends here, once
    missing = []
    for asset_id in asset_ids:
        try:
            (service.add if add else service.remove)(project, collection_id, asset_id)
        except NotFound:
            missing.append(asset_id)
            continue
        click.echo(f"{'added' if add else 'removed'} {asset_id}")
    if missing:
        raise click.ClickException(f"no such assets in project {project}: {' '.join(missing)}")


@collections.command("delete")
@click.argument("collection_id")
@PROJECT
@click.pass_context
def collections_delete(ctx: click.Context, collection_id: str, project: str) -> None:
    """Delete a collection; its assets stay."""
    _service(ctx).delete(project, collection_id)
    click.echo(f"deleted {collection_id}")


COMMANDS = [collections]
