"""`vitrina assets duplicates`: a catalogue report of duplicate groups per tier (decision 024)."""

from __future__ import annotations

import json

import click

from vitrina.cli.common import runtime_of
from vitrina.storage.catalog.projects import DEFAULT_PROJECT


@click.command()
@click.option("--tier", type=click.Choice(["exact", "near", "similar"]), multiple=True,
              help="Only this tier (repeatable); all three by default. A group holds the stricter "
                   "tiers' copies too (a near group its exact copies, a similar group both).")
@click.option("--project", default=DEFAULT_PROJECT, show_default=True, help="The project the assets belong to.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.pass_context
def duplicates(ctx: click.Context, tier: tuple[str, ...], project: str, as_json: bool) -> None:
    """Groups of assets that show the same picture, per tier."""
    from vitrina.search.duplicates import TIERS, duplicate_groups

    rt = runtime_of(ctx)
    tiers = [t for t in TIERS if not tier or t in tier]
    found = duplicate_groups(rt.assets, project, tiers)
    if as_json:
        click.echo(json.dumps({"project": project, "groups": [
            {"tier": g.tier, "asset_ids": list(g.asset_ids)} for g in found]}, indent=2))
        return
    for t in tiers:
        mine = [g for g in found if g.tier == t]
        click.echo(f"{t}: {len(mine)} group{'s' if len(mine) != 1 else ''}")
        for number, g in enumerate(mine, 1):
            for asset_id in g.asset_ids:  # the file names are what people recognise
                click.echo(f"  {number:>3}  {asset_id}  {rt.assets.get(project, asset_id).filename or ''}".rstrip())
