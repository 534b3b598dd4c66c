"""creative: a project's brand kits, templates and campaigns (decisions 034, 037)."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import click

from vitrina.cli.assets import PROJECT
from vitrina.cli.common import runtime_of

FILE = click.Path(exists=True, dir_okay=False, path_type=Path)
KINDS = {"brand-kit": "brand_kit", "template": "template", "campaign": "campaign"}


@click.group()
def creative() -> None:
    """Creative automation: brand kits, templates and campaigns, versioned; rendering
    a campaign's creatives."""


def _failed(exc) -> click.ClickException:
    field = exc.details.get("field") if exc.details else None
    where = f" (field {field})" if field else ""
    return click.ClickException(f"{exc.message}{where} ({exc.status} {exc.code})")


def _read(path: Path, logo: Path | None) -> dict:
    try:
        document = json.loads(path.read_text())
    except (ValueError, UnicodeDecodeError) as exc:
        raise click.BadParameter(f"{path} is not JSON: {exc}") from None
    if not isinstance(document, dict):
        raise click.BadParameter(f"{path} holds {type(document).__name__}, not a JSON object")
    if logo is not None:
        document["logo"] = base64.b64encode(logo.read_bytes()).decode()
    return {k: v for k, v in document.items() if k not in ("id", "version")}


@creative.command("put")
@click.argument("kind", type=click.Choice(sorted(KINDS)))
@click.argument("document_id", metavar="ID")
@click.argument("file", type=FILE)
@click.option("--logo", type=FILE, help="A brand kit's logo (PNG), put into the document.")
@PROJECT
@click.pass_context
def put(ctx: click.Context, kind: str, document_id: str, file: Path, logo: Path | None,
        project: str) -> None:
    """Store FILE (JSON) as the brand kit, template or campaign ID: validated whole (a
    campaign's brand kit, templates and items must exist); a change makes
    the next version, the same document changes nothing. An ``id`` or ``version`` in the
    file is ignored: the store numbers versions."""
    from vitrina.creative.campaigns import CampaignService
    from vitrina.creative.documents import DocumentService, parser_for
    from vitrina.errors import VitrinaError

    document = _read(file, logo)
    rt = runtime_of(ctx)
    try:
        if kind == "campaign":
            record, new = CampaignService(rt).put(project, document_id, document)
        else:
            record, new = DocumentService(rt.sessions).put(project, KINDS[kind], document_id, document,
                                                           parser_for(KINDS[kind], document_id))
    except VitrinaError as exc:
        raise _failed(exc) from None
    finally:
        rt.close()
    state = "new version" if new else "unchanged"
    click.echo(f"{kind} {record.id} v{record.version} ({state}, sha256 {record.sha256[:12]})")


@creative.command("ls")
@click.argument("kind", type=click.Choice(sorted(KINDS)))
@PROJECT
@click.pass_context
def ls(ctx: click.Context, kind: str, project: str) -> None:
    """The latest version of each brand kit, template or campaign."""
    from vitrina.creative.documents import DocumentService

    rt = runtime_of(ctx)
    try:
        records = DocumentService(rt.sessions).list(project, KINDS[kind])
    finally:
        rt.close()
    for r in records:
        click.echo(f"{r.id:30} v{r.version:<4} {r.created_at.isoformat(timespec='seconds')}")


@creative.command("render")
@click.argument("campaign")
@click.option("--engine", default="local", show_default=True,
              help="Where to render: local (a process pool) or ray.")
@click.option("--workers", type=click.IntRange(1, 256), help="Processes (default: the CPUs).")
@click.option("--address", help="With --engine ray: the cluster (ray://host:10001 or auto).")
@click.option("--version", "version", type=click.IntRange(1), help="Default: the latest.")
@PROJECT
@click.pass_context
def render(ctx: click.Context, campaign: str, engine: str, workers: int | None, address: str | None,
           version: int | None, project: str) -> None:
    """Render every creative of CAMPAIGN not stored yet (each headline, image and layout
    variant of each item for each placement), with a progress bar; passed creatives
    become assets, failed ones are stored as rejected with their reason codes. Running it
    again renders nothing new."""
    import sys

    from tqdm import tqdm

    from vitrina.creative.production import prepare, render_campaign
    from vitrina.errors import VitrinaError

    rt = runtime_of(ctx)
    try:
        prepared = prepare(rt, project, campaign, version)
        with tqdm(total=len(prepared[2]), desc="render", unit="creative", file=sys.stderr) as bar:
            summary = render_campaign(rt, project, campaign, engine=engine, workers=workers,
                                      address=address, progress=bar.update, prepared=prepared)
    except VitrinaError as exc:
        raise _failed(exc) from None
    finally:
        rt.close()
    click.echo(f"campaign {summary.campaign} v{summary.version}: {summary.cells} creatives, "
               f"{summary.existing} already stored, {summary.ready} ready, {summary.rejected} "
               f"rejected, {summary.assets_new} new assets ({summary.seconds:.1f} s)")


@creative.command("creatives")
@click.argument("campaign")
@click.option("--placement", help="Only this placement.")
@click.option("--status", type=click.Choice(["ready", "rejected"]), help="Only this status.")
@click.option("--limit", type=click.IntRange(1, 500), default=100, show_default=True)
@PROJECT
@click.pass_context
def creatives(ctx: click.Context, campaign: str, placement: str | None, status: str | None,
              limit: int, project: str) -> None:
    """CAMPAIGN's stored creatives: item, placement, grid id, status, and the asset of a
    ready one or the reason codes of a rejected one."""
    from vitrina.creative.campaigns import list_creatives
    from vitrina.errors import VitrinaError

    rt = runtime_of(ctx)
    try:
        page = list_creatives(rt, project, campaign, placement=placement, status=status,
                              limit=limit)
    except VitrinaError as exc:
        raise _failed(exc) from None
    finally:
        rt.close()
    click.echo(f"{'item':20} {'placement':17} {'variant':24} {'status':9} asset / reasons")
    for c in page.items:
        tail = c["asset_id"] if c["status"] == "ready" else ", ".join(c["reasons"])
        click.echo(f"{c['item_id'][:20]:20} {c['placement']:17} {c['variant'][:24]:24} "
                   f"{c['status']:9} {tail}")
    if page.next_cursor:
        click.echo(f"(more than {limit}: narrow with --placement or --status, or raise --limit)")


COMMANDS = [creative]
