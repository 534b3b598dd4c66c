"""url: sign image transformation URLs and video playback URLs with the configured keys
(or a project's)."""

from __future__ import annotations

import time

import click

from vitrina.cli.common import runtime_of, settings_of
from vitrina.errors import VitrinaError
from vitrina.storage.catalog.projects import DEFAULT_PROJECT


def _widths(_ctx: click.Context, _param: click.Parameter, value: str | None) -> list[int] | None:
    if value is None:
        return None
    try:
        widths = [int(w) for w in value.split(",") if w.strip()]
    except ValueError:
        raise click.BadParameter("a comma list of widths in pixels, e.g. 320,640,1280") from None
    if not widths or min(widths) < 1:
        raise click.BadParameter("a comma list of positive widths, e.g. 320,640,1280")
    return widths


@click.command()
@click.argument("asset_id")
@click.argument("ops", required=False)
@click.option("--video", is_flag=True,
              help="A playback URL of the video's files instead: OPS is then a path such as "
                   "h720w1280.mp4 (default: hls/master.m3u8); it expires in a day unless --expires says.")
@click.option(
    "--expires",
    type=click.IntRange(min=1),
    default=None,
    metavar="SECONDS",
    help="The URL stops working this many seconds from now.",
)
@click.option(
    "--srcset",
    "widths",
    callback=_widths,
    default=None,
    metavar="W,W,...",
    help="Print a srcset list: OPS at each width, the aspect ratio kept.",
)
@click.option(
    "--project",
    default=None,
    metavar="ID",
    help="Sign with this project's newest signing key (read from the catalog); "
    "default: the default project's key from the settings.",
)
@click.pass_context
def url(ctx: click.Context, asset_id: str, ops: str | None, video: bool, expires: int | None,
        widths: list[int] | None, project: str | None) -> None:  # fmt: skip
    """Sign /img/{signature}/{ops}/{asset_id} for ASSET_ID and OPS (e.g. w_400,h_300,c_fill),
    or with --video /video/{token}/{asset_id}/{path}, one token for all the video's files.

    OPS is written in its canonical form; `-` asks for no transformation. Prefixed with
    VITRINA_PUBLIC_BASE_URL when set. Outside development mode VITRINA_SIGNING__KEYS must
    hold the key (VITRINA_SIGNING__KEY_ID picks which); with --project, the project's
    newest key (`vitrina projects signing-key create`) signs instead.
    """
    from vitrina.delivery.configured import project_signer, signer_from

    settings = settings_of(ctx)
    if video and widths is not None:
        raise click.UsageError("--srcset makes image URLs; it does not go with --video.")
    if not video and ops is None:
        raise click.UsageError("Missing argument 'OPS' (e.g. w_400,h_300,c_fill; '-' for none).")
    if expires is not None and (project is None or project == DEFAULT_PROJECT) and not settings.signing.keys:
        raise click.UsageError(
            "--expires needs a signing key: without VITRINA_SIGNING__KEYS the URL is unsigned "
            "(development mode) and would never expire. Set VITRINA_SIGNING__KEYS='{\"k1\": \"...\"}' "
            "(`make run` keeps one in var/vitrina.toml), or sign with --project's key.")
    base = settings.public_base_url.rstrip("/")
    until = None if expires is None else int(time.time()) + expires
    try:
        if project is None or project == DEFAULT_PROJECT:
            signer = signer_from(settings)
        else:
            key = runtime_of(ctx).projects.current_signing_key(project)
            signer = project_signer(settings, key.id, key.secret)
        if video:
            from vitrina.delivery.playback.tokens import (
                DEFAULT_FILE,
                DEFAULT_LIFETIME,
                playback_path,
            )

            lasts = DEFAULT_LIFETIME if expires is None else expires
            click.echo(base + playback_path(signer, asset_id, ops or DEFAULT_FILE,
                                            expires=int(time.time()) + lasts))
            return
        if widths is None:
            click.echo(base + signer.url(asset_id, ops, until))
            return
        items = signer.srcset(asset_id, ops, widths, until).split(", ")  # paths hold no spaces
    except VitrinaError as exc:
        raise click.ClickException(f"{exc.code}: {exc.message}") from None
    click.echo(", ".join(base + item for item in items))


COMMANDS = [url]
