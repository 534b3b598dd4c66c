"""What every command needs: settings and the runtime, with errors a user can act on."""

from __future__ import annotations

from pathlib import Path

import click

from vitrina.config import Settings, load_settings
from vitrina.errors import VitrinaError

NO_CATALOG = ("no catalog at {where}: run `vitrina db upgrade` to create it (`make run` does, "
              "in the checkout), or set VITRINA_DATA_DIR / VITRINA_DATABASE_URL to an existing one")


def settings_of(ctx: click.Context) -> Settings:
    if ctx.obj is None:
        try:
            ctx.obj = load_settings()
        except VitrinaError as exc:
            raise click.ClickException(f"{exc.message}\nFix the setting (environment VITRINA_* or the config file) and retry.")
    return ctx.obj


def runtime_of(ctx: click.Context, *, create_catalog: bool = False):
    """The runtime; unless ``create_catalog``, a one-line error when the catalog was
    never created (and nothing made on disk)."""
    from vitrina.runtime import Runtime

    settings = settings_of(ctx)
    if not create_catalog:
        require_catalog(settings)
    try:
        return Runtime(settings)
    except VitrinaError as exc:
        raise click.ClickException(exc.message)


def require_catalog(settings: Settings) -> None:
    """A ClickException unless the catalog exists and has a schema."""
    from sqlalchemy.exc import SQLAlchemyError

    from vitrina.storage.catalog.db import current_revision, make_engine

    url = settings.sqlalchemy_url
    if url.startswith("sqlite:///"):
        path = Path(url.split("///", 1)[1])
        if not path.is_file():  # checked first: opening it would create it and its directory
            raise click.ClickException(NO_CATALOG.format(where=path))
    where = settings.database_url.split("@")[-1] if settings.database_url else url.split("///", 1)[1]
    engine = make_engine(url)
    try:
        revision = current_revision(engine)
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
        raise click.ClickException(f"cannot open the catalog at {where}: {reason}") from None
    finally:
        engine.dispose()
    if revision is None:
        raise click.ClickException(NO_CATALOG.format(where=where))
