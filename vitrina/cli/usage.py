"""usage: what a project holds, what it served, and its quotas."""

from __future__ import annotations

import json
from typing import Any

import click

from vitrina.cli.common import runtime_of
from vitrina.errors import VitrinaError
from vitrina.storage.catalog.projects import DEFAULT_PROJECT

TRAFFIC = (("renders", "renders"), ("image_bytes_served", "image bytes served"),
           ("original_bytes_downloaded", "original bytes downloaded"),
           ("derivative_bytes_downloaded", "derivative bytes downloaded"),
           ("video_bytes_served", "video bytes served"))


@click.command()
@click.option("--project", default=DEFAULT_PROJECT, show_default=True, help="The project to report on.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as the API gives it (JSON).")
@click.pass_context
def usage(ctx: click.Context, project: str, as_json: bool) -> None:
    """Assets and bytes by media kind, every file by kind and class (original, rendition,
    storyboard, derivative) with the bytes dedupe and per-title encoding saved, renders
    and bytes served or downloaded (today and this month, UTC), quotas with their current
    figures, and the storage cost when VITRINA_PROJECTS__STORAGE_PRICE_PER_GB_MONTH is set."""
    rt = runtime_of(ctx)
    try:
        report = rt.usage.report(project).to_dict()
    except VitrinaError as exc:
        raise click.ClickException(exc.message)
    finally:
        rt.close()
    click.echo(json.dumps(report, indent=2) if as_json else table(report))


def table(report: dict[str, Any]) -> str:
    """The report for people: storage by kind, traffic, quotas."""
    storage, traffic = report["storage"], report["traffic"]
    lines = [f"project {report['project']}  (as of {report['as_of']})", "",
             f"{'kind':12}  {'assets':>10}  {'bytes':>16}"]
    for k in storage["by_kind"]:
        lines.append(f"{k['kind']:12}  {k['assets']:>10,}  {k['bytes']:>16,}")
    lines.append(f"{'total':12}  {storage['assets']:>10,}  {storage['bytes']:>16,}")
    cost = storage["cost"]
    if cost is not None:
        lines.append(f"storage cost: {cost['gb']:.6f} GB x {cost['price_per_gb_month']:g} per GB-month "
                     f"= {cost['per_month']:.6f} per month")
    lines += ["", *files_table(storage["breakdown"])]
    lines += ["", f"{'traffic':28}  {'today':>16}  {'since ' + traffic['month_start']:>16}"]
    for key, label in TRAFFIC:
        lines.append(f"{label:28}  {traffic['today'][key]:>16,}  {traffic['month'][key]:>16,}")
    lines += ["", f"{'quota':28}  {'limit':>16}  {'current':>16}"]
    for name, q in report["quotas"].items():
        limit = f"{q['limit']:,}" if q["limit"] else "unlimited"
        lines.append(f"{name:28}  {limit:>16}  {q['current']:>16,}")
    return "\n".join(lines)


def files_table(files: dict[str, Any]) -> list[str]:
    """Every file by kind and class, what the project adds to storage, and the savings."""
    priced = files["stored_cost_per_month"] is not None
    cost = f"  {'per month':>12}" if priced else ""
    lines = [f"{'kind':12}  {'class':12}  {'files':>10}  {'bytes':>16}{cost}"]
    for c in files["classes"]:
        cost = f"  {c['cost_per_month']:>12.6f}" if priced else ""
        lines.append(f"{c['kind']:12}  {c['class']:12}  {c['files']:>10,}  {c['bytes']:>16,}{cost}")
    dedupe, per_title = files["saved"]["dedupe"], files["saved"]["per_title"]
    cost = f"  {files['stored_cost_per_month']:>12.6f}" if priced else ""
    lines += [f"{'all files':38}  {files['bytes']:>16,}",
              f"{'saved by dedupe':38}  {dedupe['bytes']:>16,}  ({dedupe['assets']:,} shared originals)",
              f"{'stored':38}  {files['stored_bytes']:>16,}{cost}",
              (f"{'saved by per-title ladders':38}  {per_title['bytes']:>16,}  "
               f"({per_title['fixed_ladder_bytes']:,} fixed vs {per_title['ladder_bytes']:,} stored; "
               f"videos with a ladder: {per_title['titles']:,})")]
    return lines


COMMANDS = [usage]
