"""`vitrina search` and `vitrina assets similar`: hybrid search and search by example
(decision 027), with a table that says why each asset was found."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import click

from vitrina.cli.assets import PROJECT
from vitrina.cli.common import runtime_of

if TYPE_CHECKING:
    from vitrina.search.service import Hit

# the service's own values, repeated so that starting `vitrina` loads no numpy
# (tests/search/test_search_cli_light.py holds them equal)
MAX_LIMIT = 100
SIMILAR_BY = {"image": "imagenet", "text": "text_embedding", "clip": "clip"}


def _name(asset) -> str:
    return asset.metadata.title or asset.filename or ""


def _why(hit: Hit) -> str:
    """The explanation in a few words: matched terms, similarities, the colour."""
    parts = []
    e = hit.explain
    if "keyword" in e:
        terms = {}
        for m in e["keyword"]["matched"]:
            terms.setdefault(m["term"], []).append(m["field"])
        parts.append("; ".join(f"{t} in {','.join(f)}" for t, f in terms.items()))
    for component in ("text_embedding", "clip"):
        if component in e:
            parts.append(f"{component} {e[component]['similarity']:.3f}")
    if "color" in e:
        c = e["color"]
        parts.append(f"{c['hex']} ΔE {c['delta_e']:.1f} on {c['fraction']:.0%}")
    return " | ".join(parts)


def _hit_json(hit: Hit) -> dict:
    return {"asset_id": hit.asset.id, "filename": hit.asset.filename, "title": hit.asset.metadata.title,
            "score": hit.score, "explain": hit.explain}


@click.command()
@click.argument("words", nargs=-1)
@click.option("--color", "--colour", "color", help="A hex colour (#rrggbb): rank by how much of the picture is near it.")
@click.option("--color-tolerance", type=click.FloatRange(1, 100), help="Largest CIELAB ΔE that counts (25).")
@click.option("--kind", help="Only assets of this kind (image, video).")
@click.option("--tag", help="Only assets with this tag (the user's or a model's).")
@click.option("--collection", help="Only assets in this collection (an id).")
@click.option("--min-width", type=click.IntRange(0), help="Only assets at least this wide, in pixels.")
@click.option("--min-height", type=click.IntRange(0), help="Only assets at least this tall, in pixels.")
@click.option("--after", "created_after", help="Only assets created from this date (ISO 8601).")
@click.option("--before", "created_before", help="Only assets created before this date (ISO 8601).")
@click.option("--limit", type=click.IntRange(1, MAX_LIMIT), default=20, show_default=True)
@PROJECT
@click.option("--json", "as_json", is_flag=True, help="Print JSON (every hit's full explanation) instead of a table.")
@click.pass_context
def search(ctx: click.Context, words: tuple[str, ...], color: str | None, color_tolerance: float | None,
           kind: str | None, tag: str | None, collection: str | None, min_width: int | None,
           min_height: int | None, created_after: str | None, created_before: str | None, limit: int,
           project: str, as_json: bool) -> None:
    """Search the project's assets for WORDS (titles, alt text, tags, OCR text, and text
    embeddings when the model analysers are on) and/or a colour; filters apply first.
    No words and no colour: the filtered assets, newest first."""
    from vitrina.search.query import parse_query

    query = parse_query(q=" ".join(words), color=color, color_tolerance=color_tolerance, kind=kind, tag=tag,
                        collection=collection, min_width=min_width, min_height=min_height,
                        created_after=created_after, created_before=created_before, limit=limit)
    page = runtime_of(ctx).search.search(project, query)
    if as_json:
        click.echo(json.dumps({"components": list(page.components), "total": page.total,
                               "items": [_hit_json(h) for h in page.items]}, indent=2, ensure_ascii=False))
        return
    ranked = ", ".join(page.components) or "none: newest first"
    click.echo(f"{page.total} found (ranked by {ranked})")
    if not page.items:
        return
    click.echo(f"{'id':32}  {'score':>7}  {'title/filename':24}  why")
    for h in page.items:
        click.echo(f"{h.asset.id:32}  {h.score:7.4f}  {_name(h.asset)[:24]:24}  {_why(h)}".rstrip())


@click.command()
@click.argument("asset_id")
@click.option("--by", type=click.Choice(list(SIMILAR_BY)), default="image", show_default=True,
              help="image: the image embedding; text: the text embedding; clip: the joint model's.")
@click.option("--limit", type=click.IntRange(1, MAX_LIMIT), default=10, show_default=True)
@PROJECT
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.pass_context
def similar(ctx: click.Context, asset_id: str, by: str, limit: int, project: str, as_json: bool) -> None:
    """The project's assets most similar to ASSET_ID by an embedding (search by example)."""
    found = runtime_of(ctx).search.similar(project, asset_id, by=by, limit=limit)
    if as_json:
        click.echo(json.dumps({"asset_id": found.asset_id, "by": found.by, "embedded": found.embedded,
                               "similar": [{"asset_id": n.asset.id, "filename": n.asset.filename,
                                            "similarity": n.similarity} for n in found.similar]}, indent=2))
        return
    if not found.embedded:
        click.echo(f"{found.asset_id} has no {SIMILAR_BY[by]} embedding yet: nothing was compared")
        return
    click.echo(f"{'id':32}  {'similarity':>10}  title/filename")
    for n in found.similar:
        click.echo(f"{n.asset.id:32}  {n.similarity:10.4f}  {_name(n.asset)}".rstrip())


COMMANDS = [search]
