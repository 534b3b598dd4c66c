"""Producing a campaign's creatives: every headline x image x layout variant of every
item for every placement, rendered, gated, and stored (decision 037).

The driver (:func:`render_campaign`) plans the variant grid, skips every creative
already stored (a creative's id is a hash of all its inputs), and hands one task per
(item, placement) to a backfill engine (``local`` process pool, ``ray``).
:func:`render_task` is the engines' function: plain data in (documents, bytes, texts),
plain data out; it reads no catalog. The driver writes: a passed creative's PNG is
ingested as an asset of the project (so /img URLs, formats and caches apply; the same
bytes are one asset) and its row is ``ready``; a failed one is ``rejected`` with the
gates' reason codes and no asset.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from vitrina.creative.campaigns import Plan, PlanItem
from vitrina.creative.documents import canonical_sha256
from vitrina.creative.selection import SEPARATOR
from vitrina.errors import InvalidInput
from vitrina.storage.catalog.creative import CreativeRow
from vitrina.storage.catalog.db import transaction
from vitrina.webhooks import creatives_rejected

#: raised when rendering or gating changes what a creative looks like for the same inputs
RENDERER_VERSION = "1"
COPY_REJECTED = "copy_rejected"


def render_item(item: Any) -> dict[str, Any]:
    """What the renderer reads of an item: its title and price (the copy's currency
    default when the item names none)."""
    attrs = item.attributes or {}
    out: dict[str, Any] = {"title": item.title or item.id}
    if attrs.get("price") is not None:
        out.update(price=attrs["price"], currency=attrs.get("currency") or "USD")
    return out


@dataclass(frozen=True)
class Cell:
    """One creative of the grid, before it is rendered."""

    creative_id: str
    item_id: str
    placement: str
    factors: dict[str, str]  # headline, image, layout
    text: dict[str, str]
    source: dict[str, Any]  # the copy's provider, model, prompt_sha256, seed
    image: str  # the source asset id
    template: int  # index in the plan's templates
    copy_reasons: dict[str, list[str]] | None  # set: the copy checks dropped its text


def _gate_rules(plan: Plan):
    from vitrina.creative.gates import GateRules

    return GateRules.from_kit(plan.brand, ocr=plan.campaign.ocr)


def _provider(rt: Any, name: str):
    from vitrina.creative.copy import LlmCopy, RulesCopy

    return RulesCopy() if name == "rules" else LlmCopy.from_registry(rt.registries, rt.settings, name)


@dataclass(frozen=True)
class _Given:
    """Candidates already written, handed to the checks (a model is asked once)."""

    name: str
    candidates: list[Any]

    def variants(self, item: Any, rules: Any, n: int) -> list[Any]:
        return list(self.candidates)


def grid(rt: Any, plan: Plan) -> list[Cell]:
    """Every creative of the campaign: item x placement x headline x image x layout.
    Headline ids follow the copy's candidate order (``h1``..), image ids the item's
    asset order (``i1``..), the layout is the template id; dropped text stays in the
    grid with its reasons."""
    from vitrina.creative.copy import CopyRules, checked_variants

    rules = CopyRules.from_kit(plan.brand)
    provider = _provider(rt, plan.campaign.provider)
    gates = asdict(_gate_rules(plan))
    kit = {"id": plan.brand.id, "version": plan.brand.version, "sha256": canonical_sha256(plan.brand_document)}
    templates = [{"id": t.id, "version": t.version, "sha256": canonical_sha256(doc)} for t, doc in plan.templates]
    cells = []
    for entry in plan.items:
        candidates = provider.variants(entry.item, rules, plan.campaign.variants)
        checked = checked_variants(_Given(provider.name, candidates), entry.item, rules, plan.campaign.variants)
        dropped = {id(d.variant): d.reasons for d in checked.dropped}
        item_key = {"id": entry.item.id, "sha256": entry.item.sha256()}
        for placement in plan.placements:
            for h, variant in enumerate(candidates, 1):
                for i, image in enumerate(entry.images, 1):
                    for t, template in enumerate(templates):
                        factors = {"headline": f"h{h}", "image": f"i{i}", "layout": template["id"]}
                        inputs = {"campaign": plan.campaign_id, "item": item_key,
                                  "placement": placement.name, "brand_kit": kit, "template": template,
                                  "text": variant.lines(), "source": variant.source,
                                  "image": {"asset_id": image.asset_id, "sha256": image.sha256},
                                  "gates": gates, "renderer": RENDERER_VERSION}
                        cells.append(Cell(canonical_sha256(inputs), entry.item.id, placement.name, factors,
                                          variant.lines(), variant.source, image.asset_id, t,
                                          dropped.get(id(variant))))
    return cells


def variant_id(factors: dict[str, str]) -> str:
    """The grid id the selection reads: ``h2|i1|hero`` (decision 036)."""
    return SEPARATOR.join(factors[k] for k in ("headline", "image", "layout"))


# --- the engines' function ---------------------------------------------------------------

def render_task(task: dict[str, Any]) -> list[dict[str, Any]]:
    """Render and gate every cell of one (item, placement): plain data in and out."""
    from vitrina.creative.brand import BrandKit
    from vitrina.creative.gates import GateRules, check
    from vitrina.creative.model import PLACEMENTS
    from vitrina.creative.render import render
    from vitrina.creative.template import Template, builtin

    brand = BrandKit.from_dict(task["brand"])
    templates = [builtin(d["builtin"]) if "builtin" in d else Template.from_dict(d)
                 for d in task["templates"]]
    placement = next(p for p in PLACEMENTS if p.name == task["placement"])
    rules = GateRules(**task["gates"])
    out = []
    for cell in task["cells"]:
        image = task["images"][cell["image"]]
        rendered = render(task["item"], brand, templates[cell["template"]], placement, cell["text"],
                          image["bytes"], focus=image["focus"])
        report = check(rendered, rules)
        out.append({"creative_id": cell["creative_id"], "passed": report.passed,
                    "gates": report.to_dict(), "sha256": hashlib.sha256(rendered.png).hexdigest(),
                    "png": rendered.png if report.passed else None})
    return out


# --- the driver ----------------------------------------------------------------------------

@dataclass
class RenderSummary:
    campaign: str
    version: int
    cells: int  # the whole grid
    existing: int  # already stored: not rendered again
    ready: int = 0
    rejected: int = 0
    assets_new: int = 0
    seconds: float = 0.0
    job_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _existing(rt: Any, project: str, campaign_id: str) -> set[str]:
    with rt.sessions() as s:
        return set(s.scalars(select(CreativeRow.creative_id).where(
            CreativeRow.project_id == project, CreativeRow.campaign == campaign_id)))


def _row(project: str, plan: Plan, cell: Cell, status: str, gates: dict[str, Any],
         asset_id: str | None, png_sha: str | None) -> CreativeRow:
    template, template_doc = plan.templates[cell.template]
    audit = {"item": cell.item_id, "campaign_version": plan.campaign_version,
             "brand_kit": {"id": plan.brand.id, "version": plan.brand.version},
             "template": {"id": template.id, "version": template.version,
                          "builtin": "builtin" in template_doc},
             "copy": cell.source, "renderer": RENDERER_VERSION, "png_sha256": png_sha,
             "rendered_at": datetime.now(UTC).isoformat() if png_sha else None}
    variant = {"id": variant_id(cell.factors), "factors": cell.factors, "text": cell.text,
               "image_asset": cell.image}
    return CreativeRow(project_id=project, creative_id=cell.creative_id, campaign=plan.campaign_id,
                       item_id=cell.item_id, placement=cell.placement, brand_kit=plan.brand.id,
                       brand_kit_version=plan.brand.version, template=template.id,
                       template_version=template.version, variant=variant, status=status,
                       gates=gates, asset_id=asset_id, audit=audit)


def _copy_gates(reasons: dict[str, list[str]]) -> dict[str, Any]:
    codes = list(dict.fromkeys(code for slot in ("headline", "subline", "cta")
                               for code in reasons.get(slot, ())))
    return {"passed": False, "failures": codes, "gates": [], "copy": reasons}


def _tasks(rt: Any, project: str, plan: Plan, cells: list[Cell]) -> Iterator[dict[str, Any]]:
    """One task per (item, placement), its source images read from the blob store."""
    by_item: dict[str, PlanItem] = {e.item.id: e for e in plan.items}
    groups: dict[tuple[str, str], list[Cell]] = {}
    for cell in cells:
        groups.setdefault((cell.item_id, cell.placement), []).append(cell)
    gates = asdict(_gate_rules(plan))
    templates = [doc for _, doc in plan.templates]
    loaded: tuple[str, dict[str, bytes]] = ("", {})  # one item's photos in memory at a time
    for (item_id, placement), group in groups.items():
        entry = by_item[item_id]
        order = [img.asset_id for img in entry.images]
        if loaded[0] != item_id:
            loaded = (item_id, {a: b"".join(rt.assets.open(rt.assets.original(project, a)))
                                for a in order})
        images = loaded[1]
        yield {"brand": plan.brand_document, "templates": templates, "placement": placement,
               "item": render_item(entry.item), "gates": gates,
               "images": [{"bytes": images[a], "focus": img.focus}
                          for a, img in zip(order, entry.images, strict=True)],
               "cells": [{"creative_id": c.creative_id, "image": order.index(c.image),
                          "template": c.template, "text": c.text} for c in group]}


def _ingest(rt: Any, project: str, png: bytes, creative_id: str) -> tuple[str, bool]:
    with rt.ingestor.stage(len(png), project=project) as staged:
        staged.write(png)
        got = rt.ingestor.commit(staged, project=project, filename=f"creative-{creative_id[:16]}.png",
                                 idempotency_key=None)
    return got.asset_id, got.created


def _insert(rt: Any, rows: list[CreativeRow], job: tuple[Any, str] | None, written: int) -> str:
    """Rows and the job's progress in one transaction; the job's state after."""
    state = "running"
    try:
        with transaction(rt.sessions) as s:
            s.add_all(rows)
            s.flush()
            creatives_rejected(s, rows)  # with the rows: the outbox (decision 038)
            if job is not None:
                state = job[0].advance(s, job[1], done=len(rows), failed=0, written=written)
    except IntegrityError:  # another run stored some of them: keep theirs, add the others
        for row in rows:
            try:
                with transaction(rt.sessions) as s:
                    s.add(row)
                    s.flush()
                    creatives_rejected(s, [row])
            except IntegrityError:
                pass
        if job is not None:
            with transaction(rt.sessions) as s:
                state = job[0].advance(s, job[1], done=len(rows), failed=0, written=written)
    return state


def prepare(rt: Any, project: str, campaign_id: str, version: int | None = None
            ) -> tuple[Plan, list[Cell], list[Cell]]:
    """(the plan, the whole grid, the cells not stored yet)."""
    from vitrina.creative.campaigns import CampaignService

    plan = CampaignService(rt).plan(project, campaign_id, version)
    cells = grid(rt, plan)
    have = _existing(rt, project, campaign_id)
    return plan, cells, [c for c in cells if c.creative_id not in have]


def render_campaign(rt: Any, project: str, campaign_id: str, *, version: int | None = None,
                    engine: str = "local", workers: int | None = None, address: str | None = None,
                    progress: Callable[[int], None] | None = None, job_id: str | None = None,
                    prepared: tuple[Plan, list[Cell], list[Cell]] | None = None) -> RenderSummary:
    """Render what is not stored yet of the campaign (its latest version, or ``version``)
    on ``engine``; ``progress(n)`` after each n creatives written; ``job_id``: a job row
    (``vitrina.batch.jobs``) counts them too and a cancel stops the run."""
    import time

    from vitrina.batch.engines import EngineOptions
    from vitrina.batch.jobs import BackfillJobs

    started = time.perf_counter()
    if engine not in rt.registries.engines:
        raise InvalidInput(f"no engine {engine!r} (known: {', '.join(rt.registries.engines.names())})",
                           code="unknown_engine", details={"engine": engine[:64]})
    plan, cells, todo = prepared or prepare(rt, project, campaign_id, version)
    summary = RenderSummary(campaign_id, plan.campaign_version, len(cells), len(cells) - len(todo),
                            job_id=job_id)
    job = (BackfillJobs(rt.sessions), job_id) if job_id else None
    by_id = {c.creative_id: c for c in todo}
    # text the copy checks dropped is rejected without a render
    dropped = [c for c in todo if c.copy_reasons]
    if dropped:
        rows = [_row(project, plan, c, "rejected", _copy_gates(c.copy_reasons), None, None)
                for c in dropped]
        _insert(rt, rows, job, 0)
        summary.rejected += len(rows)
        if progress:
            progress(len(rows))
    renders = [c for c in todo if not c.copy_reasons]
    state = "running"
    if renders:
        run = rt.registries.engines.get(engine).run(
            render_task, _tasks(rt, project, plan, renders), EngineOptions(workers, address))
        try:
            for results in run:
                rows, written = [], 0
                for r in results:
                    cell = by_id[r["creative_id"]]
                    if r["passed"]:
                        asset_id, new = _ingest(rt, project, r["png"], cell.creative_id)
                        summary.assets_new += new
                        rows.append(_row(project, plan, cell, "ready", r["gates"], asset_id, r["sha256"]))
                        written += 1
                    else:
                        rows.append(_row(project, plan, cell, "rejected", r["gates"], None, r["sha256"]))
                summary.ready += written
                summary.rejected += len(rows) - written
                state = _insert(rt, rows, job, written)
                if progress:
                    progress(len(rows))
                if state == "cancelled":
                    break
        finally:
            run.close()
    summary.seconds = round(time.perf_counter() - started, 3)
    return summary


# --- as a job ------------------------------------------------------------------------------

def job_name(campaign_id: str) -> list[str]:
    """What the job row names in place of analysers: ``creative.render:<campaign>``, so a
    backfill never adopts it and `vitrina batch jobs` says what it is."""
    return [f"creative.render:{campaign_id}"]


def start_job(rt: Any, project: str, campaign_id: str, *, version: int | None = None,
              engine: str = "local", workers: int | None = None) -> tuple[str, int, int]:
    """Plan now (bad input is refused before anything is written), then render on a
    thread of this process under a job row of ``vitrina.batch.jobs`` (GET
    /v1/batch/jobs/{id} shows its progress): (job id, creatives in the grid, to render)."""
    import threading

    from vitrina.batch.jobs import BackfillJobs

    if engine not in rt.registries.engines:
        raise InvalidInput(f"no engine {engine!r} (known: {', '.join(rt.registries.engines.names())})",
                           code="unknown_engine", details={"engine": engine[:64]})
    prepared = prepare(rt, project, campaign_id, version)
    jobs = BackfillJobs(rt.sessions)
    # 409 while one runs; one whose process died is closed, and this job redoes its part
    stalled = jobs.interrupted(project=project, analysers=job_name(campaign_id), force=False)
    job_id = jobs.create(project=project, analysers=job_name(campaign_id), force=False, engine=engine,
                         options={"campaign": campaign_id, "version": prepared[0].campaign_version,
                                  "processes": workers}, total=len(prepared[2]))
    if stalled is not None:
        jobs.finish(stalled, "failed", f"interrupted; job {job_id} took over")

    def work() -> None:
        try:
            render_campaign(rt, project, campaign_id, engine=engine, workers=workers, job_id=job_id,
                            prepared=prepared)
        except Exception as exc:  # noqa: BLE001 - the job row is where the failure is read
            jobs.finish(job_id, "failed", f"{type(exc).__name__}: {exc}"[:2000])
            return
        if jobs.get(job_id).state == "running":
            jobs.finish(job_id, "done")

    threading.Thread(target=work, daemon=True, name=f"render-{job_id}").start()
    return job_id, len(prepared[1]), len(prepared[2])
