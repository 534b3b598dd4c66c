"""Campaigns: which items to render, with which brand kit and templates, for which
placements, with how many text and image variants (decision 037).

A campaign is a versioned document (kind ``campaign``). :func:`parse` checks its shape
(no catalog needed: the documents' parser); :func:`resolve` checks what it names exists
in the project (the brand kit, each template, each item with a ready image) and returns
the plan a render works from. Every refusal has a stable code and writes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from vitrina.creative.brand import BrandKit
from vitrina.creative.model import PLACEMENTS, Placement
from vitrina.creative.template import Template, builtin, builtin_names
from vitrina.errors import InvalidInput, NotFound

FIELDS = {"brand_kit", "templates", "placements", "items", "copy", "images", "ocr"}
PROVIDERS_DEFAULT = "rules"
MAX_TEMPLATES, MAX_ITEMS, MAX_VARIANTS, MAX_IMAGES = 8, 500, 10, 8
PLACEMENT_NAMES = tuple(p.name for p in PLACEMENTS)


def _fail(field: str, message: str, code: str = "invalid_campaign", **details: Any) -> InvalidInput:
    return InvalidInput(f"campaign {field}: {message}", code=code,
                        details={"field": field, **details})


@dataclass(frozen=True)
class Campaign:
    brand_kit: str
    brand_kit_version: int | None  # None: the latest at render time (recorded per creative)
    templates: tuple[str, ...]
    placements: tuple[str, ...]
    items: tuple[str, ...] | None  # None: every item of ``item_type``
    item_type: str | None
    provider: str
    variants: int
    images: int
    ocr: bool


def _int(value: Any, field: str, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise _fail(field, f"an integer within {lo}..{hi}")
    return value


def _names(value: Any, field: str, most: int) -> tuple[str, ...]:
    if not isinstance(value, list) or not value or len(value) > most \
            or not all(isinstance(v, str) and v for v in value) or len(set(value)) != len(value):
        raise _fail(field, f"a list of 1..{most} distinct non-empty strings")
    return tuple(value)


def parse(document: Any) -> Campaign:
    """The campaign's shape: every field's type and range, placements by name."""
    if not isinstance(document, dict):
        raise _fail("$", "a JSON object")
    unknown = sorted(set(document) - FIELDS - {"id", "version"})
    if unknown:
        raise _fail(unknown[0], f"unknown field (known: {', '.join(sorted(FIELDS))})")
    kit = document.get("brand_kit")
    version = None
    if isinstance(kit, dict):
        if set(kit) - {"id", "version"}:
            raise _fail("brand_kit", "an id, or {id, version}")
        version = None if kit.get("version") is None else _int(kit["version"], "brand_kit.version", 1, 2**31 - 1)
        kit = kit.get("id")
    if not isinstance(kit, str) or not kit:
        raise _fail("brand_kit", "the id of one of the project's brand kits")
    templates = _names(document.get("templates"), "templates", MAX_TEMPLATES)
    placements = _names(document.get("placements", list(PLACEMENT_NAMES)), "placements",
                        len(PLACEMENTS))
    for name in placements:
        if name not in PLACEMENT_NAMES:
            raise _fail("placements", f"no placement {name!r} (known: {', '.join(PLACEMENT_NAMES)})",
                        code="unknown_placement", placement=name[:64])
    items, item_type = document.get("items"), None
    if isinstance(items, dict):
        if set(items) != {"type"} or not isinstance(items["type"], str) or not items["type"]:
            raise _fail("items", 'a list of item ids, or {"type": "..."}')
        items, item_type = None, items["type"]
    else:
        items = _names(items, "items", MAX_ITEMS)
    copy = document.get("copy", {})
    if not isinstance(copy, dict) or set(copy) - {"provider", "variants"}:
        raise _fail("copy", "an object with provider and variants")
    provider = copy.get("provider", PROVIDERS_DEFAULT)
    if not isinstance(provider, str) or not provider:
        raise _fail("copy.provider", '"rules" or the name of a text generator')
    ocr = document.get("ocr", True)
    if not isinstance(ocr, bool):
        raise _fail("ocr", "true or false (whether the OCR read-back gate runs)")
    return Campaign(kit, version, templates, placements, items, item_type, provider,
                    _int(copy.get("variants", 3), "copy.variants", 1, MAX_VARIANTS),
                    _int(document.get("images", 2), "images", 1, MAX_IMAGES), ocr)


@dataclass(frozen=True)
class SourceImage:
    asset_id: str
    sha256: str
    focus: dict[str, Any] | None


@dataclass(frozen=True)
class PlanItem:
    item: Any  # vitrina.recs.items.ItemRecord
    images: tuple[SourceImage, ...]


@dataclass(frozen=True)
class Plan:
    """A campaign version with every reference resolved to what a render uses."""

    campaign_id: str
    campaign_version: int
    campaign: Campaign
    brand: BrandKit
    brand_document: dict[str, Any]
    templates: tuple[tuple[Template, dict[str, Any]], ...]  # (template, its document)
    placements: tuple[Placement, ...]
    items: tuple[PlanItem, ...]


def _brand(docs: Any, project: str, c: Campaign) -> tuple[BrandKit, dict[str, Any]]:
    try:
        record = docs.get(project, "brand_kit", c.brand_kit, c.brand_kit_version)
    except NotFound:
        raise _fail("brand_kit", f"no brand kit {c.brand_kit!r}"
                    + (f" version {c.brand_kit_version}" if c.brand_kit_version else "")
                    + " in this project", code="unknown_brand_kit", id=c.brand_kit[:128]) from None
    document = {**record.document, "id": record.id, "version": record.version}
    return BrandKit.from_dict(document), document


def _template(docs: Any, project: str, name: str) -> tuple[Template, dict[str, Any]]:
    """The project's template of that id, else the built-in of that name."""
    try:
        record = docs.get(project, "template", name)
        document = {**record.document, "id": record.id, "version": record.version}
    except (NotFound, InvalidInput):
        if name not in builtin_names():
            raise _fail("templates", f"no template {name!r} in this project, and no built-in "
                        f"(built-ins: {', '.join(builtin_names())})", code="unknown_template",
                        id=name[:128]) from None
        t = builtin(name)
        document = {"builtin": name, "id": t.id, "version": t.version}
        return t, document
    return Template.from_dict(document), document


def _images(rt: Any, project: str, item: Any, most: int) -> tuple[SourceImage, ...]:
    from vitrina.assets.states import AssetStatus

    out = []
    for record in rt.assets.get_many(project, list(item.asset_ids)):
        if record.kind != "image" or record.status != AssetStatus.READY:
            continue
        focus = record.signals.get("focus")
        out.append(SourceImage(record.id, record.sha256, dict(focus.value) if focus else None))
        if len(out) == most:
            break
    return tuple(out)


def _items(rt: Any, project: str, c: Campaign) -> tuple[PlanItem, ...]:
    from vitrina.recs.items import ItemService

    service = ItemService.of(rt)
    if c.items is not None:
        records = []
        for item_id in c.items:
            try:
                records.append(service.get(project, item_id))
            except NotFound:
                raise _fail("items", f"no item {item_id!r} in this project", code="unknown_item",
                            id=item_id[:256]) from None
    else:
        records, cursor = [], None
        while True:
            page = service.list(project, type=c.item_type, limit=500, cursor=cursor)
            records.extend(page.items)
            cursor = page.next_cursor
            if cursor is None or len(records) > MAX_ITEMS:
                break
        if len(records) > MAX_ITEMS:
            raise _fail("items", f"type {c.item_type!r} selects over {MAX_ITEMS} items",
                        code="campaign_too_large")
    from vitrina.creative.copy import CopyRules, facts

    out = []
    for record in records:
        try:
            facts(record, CopyRules())  # what copy and the renderer read: title, price, currency
        except InvalidInput as exc:
            raise _fail("items", f"item {record.id!r}: {exc.message}", code="item_not_renderable",
                        id=record.id[:256], attribute=(exc.details or {}).get("field")) from None
        images = _images(rt, project, record, c.images)
        if not images:
            if c.items is None:
                continue  # a type selects the items that have a ready image now
            raise _fail("items", f"item {record.id!r} has no ready image asset linked",
                        code="item_without_image", id=record.id[:256])
        out.append(PlanItem(record, images))
    return tuple(out)


def resolve(rt: Any, project: str, campaign_id: str, document: dict[str, Any],
            version: int = 0) -> Plan:
    """Every reference of ``document`` checked in ``project``; the plan of a render."""
    from vitrina.creative.documents import DocumentService

    c = parse(document)
    docs = DocumentService(rt.sessions)
    brand, brand_document = _brand(docs, project, c)
    templates = tuple(_template(docs, project, name) for name in c.templates)
    if c.provider != PROVIDERS_DEFAULT and c.provider not in rt.registries.text_generators:
        raise _fail("copy.provider", f"no text generator {c.provider!r} (known: rules, "
                    f"{', '.join(rt.registries.text_generators.names())})", code="unknown_provider")
    placements = tuple(p for p in PLACEMENTS if p.name in c.placements)
    return Plan(campaign_id, version, c, brand, brand_document, templates, placements,
                _items(rt, project, c))


class CampaignService:
    """Campaign documents whose references are checked before they are stored."""

    def __init__(self, rt: Any) -> None:
        from vitrina.creative.documents import DocumentService

        self.rt, self.docs = rt, DocumentService(rt.sessions)

    def put(self, project: str, campaign_id: str, document: Any):
        from vitrina.creative.documents import check_id, parser_for

        check_id("campaign", campaign_id)
        if not isinstance(document, dict):
            raise _fail("$", "a JSON object")
        parse_ = parser_for("campaign", campaign_id)
        resolve(self.rt, project, campaign_id, document)
        return self.docs.put(project, "campaign", campaign_id, document, parse_)

    def get(self, project: str, campaign_id: str, version: int | None = None):
        return self.docs.get(project, "campaign", campaign_id, version)

    def plan(self, project: str, campaign_id: str, version: int | None = None) -> Plan:
        record = self.get(project, campaign_id, version)
        return resolve(self.rt, project, campaign_id, record.document, record.version)


# --- the stored creatives ----------------------------------------------------------------

STATUSES = ("ready", "rejected")
MAX_PAGE = 500


@dataclass(frozen=True)
class CreativePage:
    items: list[dict[str, Any]]
    next_cursor: str | None


def _signer(rt: Any, project: str):
    from vitrina.delivery.configured import signer_for_project

    return signer_for_project(rt.settings, rt.projects, project)


def image_url(rt: Any, project: str, asset_id: str, ops: str = "", signer: Any = False) -> str | None:
    """A signed /img URL of the asset (``ops`` empty: as negotiated with the client)."""
    signer = _signer(rt, project) if signer is False else signer
    return None if signer is None else rt.settings.public_base_url.rstrip("/") + signer.url(asset_id, ops)


def list_creatives(rt: Any, project: str, campaign_id: str, *, placement: str | None = None,
                   status: str | None = None, limit: int = 100, cursor: str | None = None
                   ) -> CreativePage:
    """The campaign's stored creatives by id: status, factors, gate results and reason
    codes, and for ready ones the asset and a signed image URL."""
    from sqlalchemy import select

    from vitrina.storage.catalog.creative import CreativeRow

    CampaignService(rt).get(project, campaign_id)  # another project's campaign: 404
    if placement is not None and placement not in PLACEMENT_NAMES:
        raise InvalidInput(f"no placement {placement!r}", code="unknown_placement",
                           details={"placement": placement[:64]})
    if status is not None and status not in STATUSES:
        raise InvalidInput(f"status is one of {', '.join(STATUSES)}", details={"status": status[:32]})
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidInput(f"limit must be between 1 and {MAX_PAGE}", details={"limit": limit})
    if cursor is not None and (len(cursor) != 64 or any(c not in "0123456789abcdef" for c in cursor)):
        raise InvalidInput("not a cursor of this listing", code="invalid_cursor")
    query = select(CreativeRow).where(CreativeRow.project_id == project,
                                      CreativeRow.campaign == campaign_id)
    if placement is not None:
        query = query.where(CreativeRow.placement == placement)
    if status is not None:
        query = query.where(CreativeRow.status == status)
    if cursor is not None:
        query = query.where(CreativeRow.creative_id > cursor)
    with rt.sessions() as s:
        rows = s.scalars(query.order_by(CreativeRow.creative_id).limit(limit + 1)).all()
    signer = _signer(rt, project) if any(r.asset_id for r in rows) else None
    items = [{"id": r.creative_id, "item_id": r.item_id, "placement": r.placement,
              "status": r.status, "variant": r.variant["id"], "factors": r.variant["factors"],
              "text": r.variant["text"], "image_asset": r.variant["image_asset"],
              "reasons": list(r.gates.get("failures", [])), "gates": r.gates,
              "asset_id": r.asset_id,
              "image_url": image_url(rt, project, r.asset_id, signer=signer) if r.asset_id else None,
              "brand_kit": {"id": r.brand_kit, "version": r.brand_kit_version},
              "template": {"id": r.template, "version": r.template_version}, "audit": r.audit}
             for r in rows[:limit]]
    return CreativePage(items, items[-1]["id"] if len(rows) > limit else None)
