"""What every command needs: settings and the runtime, with errors a user can act on."""

from __future__ import annotations

import click

from vitrina.config import Settings, load_settings
from vitrina.errors import VitrinaError


def settings_of(ctx: click.Context) -> Settings:
    if ctx.obj is None:
        try:
            ctx.obj = load_settings()
        except VitrinaError as exc:
            raise click.ClickException(f"{exc.message}\nFix the setting (environment VITRINA_* or the config file) and retry.")
    return ctx.obj


def runtime_of(ctx: click.Context):
    from vitrina.runtime import Runtime

    try:
        return Runtime(settings_of(ctx))
    except VitrinaError as exc:
        raise click.ClickException(exc.message)
