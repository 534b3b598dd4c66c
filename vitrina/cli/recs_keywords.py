"""`vitrina recs keywords`: topic keywords for items with thin text (decision 030)."""

from __future__ import annotations

import sys

import click

from vitrina.cli.assets import PROJECT
from vitrina.cli.common import runtime_of

#: rejected lines shown per item in the report
SHOWN_REASONS = 3


@click.command("keywords")
@click.option("--provider", help="Text generator: rules, openai, llama-cpp or a plug-in's "
              "(default: the llm.provider setting, itself rules by default).")
@click.option("--base-url", help="openai: the server's API root, e.g. http://127.0.0.1:8080/v1.")
@click.option("--model", help="openai: the model to ask for (default: the server's first); "
              "llama-cpp: a GGUF file (default: Gemma 3 270M from the llm extra).")
@click.option("--min-words", type=click.IntRange(1, 1000), default=12, show_default=True,
              help="Items whose title and body hold fewer words than this are thin.")
@click.option("--max-keywords", type=click.IntRange(1, 8), default=8, show_default=True)
@click.option("--limit", type=click.IntRange(min=1), help="At most this many thin items.")
@click.option("--dry-run", is_flag=True, help="Generate and check, but write nothing.")
@PROJECT
@click.pass_context
def keywords(ctx: click.Context, provider: str | None, base_url: str | None, model: str | None,
             min_words: int, max_keywords: int, limit: int | None, dry_run: bool,
             project: str) -> None:
    """Ask a text generator for short topic keywords for each thin item, check every
    line, and store the good ones in the item's attributes (keywords, keywords_source).
    Items already keyworded by the same provider and model from the same fields are
    skipped. A model's keywords reach users only through an experiment."""
    from tqdm import tqdm

    from vitrina.errors import VitrinaError
    from vitrina.llm import make_generator
    from vitrina.recs.items import ItemService
    from vitrina.recs.keywords import KeywordWriter

    rt = runtime_of(ctx)
    generator = None
    try:
        name = provider or rt.settings.llm.provider
        overrides = {"model_path": model} if name == "llama-cpp" else \
            {"base_url": base_url, "model": model}
        generator = make_generator(rt.registries, rt.settings, name, **overrides)
        writer = KeywordWriter(ItemService.of(rt), generator, min_words=min_words,
                               max_keywords=max_keywords)
        summary = writer.run(project, limit=limit, dry_run=dry_run,
                             wrap=lambda xs: tqdm(xs, desc="keywords", unit="item", file=sys.stderr))
    except VitrinaError as exc:
        raise click.ClickException(f"{exc.message} ({exc.status} {exc.code})") from None
    finally:
        if callable(close := getattr(generator, "close", None)):
            close()  # the HTTP client's connections
        rt.close()
    for o in summary.outcomes:
        if o.status in ("written", "would_write"):
            click.echo(f"{o.item_id}: {', '.join(o.keywords)}")
        elif o.status in ("rejected", "failed"):
            reasons = "; ".join(f"{r.line!r} {r.reason}" for r in o.rejected[:SHOWN_REASONS])
            click.echo(f"{o.item_id}: {o.status} {o.error or reasons}", err=True)
    per_call = summary.seconds_per_call()
    counts = ", ".join(f"{k} {v}" for k, v in summary.counts().items())
    click.echo(f"{generator.name} {generator.model or '?'}: {counts}"
               + (f"; {per_call:.2f} s per call" if per_call is not None else ""))


COMMANDS: list = [keywords]
