"""creative: a project's brand kits and templates (decision 034)."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import click

from vitrina.cli.assets import PROJECT
from vitrina.cli.common import runtime_of

FILE = click.Path(exists=True, dir_okay=False, path_type=Path)
KINDS = {"brand-kit": "brand_kit", "template": "template"}


@click.group()
def creative() -> None:
    """Creative automation: brand kits and templates, versioned."""


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
    """Store FILE (JSON) as the brand kit or template ID: validated whole; a change makes
    the next version, the same document changes nothing. An ``id`` or ``version`` in the
    file is ignored: the store numbers versions."""
    from vitrina.creative.documents import DocumentService, parser_for
    from vitrina.errors import VitrinaError

    document = _read(file, logo)
    rt = runtime_of(ctx)
    try:
        record, new = DocumentService(rt.sessions).put(project, KINDS[kind], document_id, document,
                                                       parser_for(KINDS[kind], document_id))
    except VitrinaError as exc:
        field = exc.details.get("field") if exc.details else None
        where = f" (field {field})" if field else ""
        raise click.ClickException(f"{exc.message}{where} ({exc.status} {exc.code})") from None
    finally:
        rt.close()
    state = "new version" if new else "unchanged"
    click.echo(f"{kind} {record.id} v{record.version} ({state}, sha256 {record.sha256[:12]})")


@creative.command("ls")
@click.argument("kind", type=click.Choice(sorted(KINDS)))
@PROJECT
@click.pass_context
def ls(ctx: click.Context, kind: str, project: str) -> None:
    """The latest version of each brand kit or template."""
    from vitrina.creative.documents import DocumentService

    rt = runtime_of(ctx)
    try:
        records = DocumentService(rt.sessions).list(project, KINDS[kind])
    finally:
        rt.close()
    for r in records:
        click.echo(f"{r.id:30} v{r.version:<4} {r.created_at.isoformat(timespec='seconds')}")


COMMANDS = [creative]
