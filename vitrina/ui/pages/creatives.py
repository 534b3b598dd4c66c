"""Creatives: the project's campaigns; a campaign as a grid of its items by its
placements, each cell the creatives rendered for it (a small signed picture of each
ready one, the reason codes of each rejected one, every gate's result), and per
placement the report of its serving (impressions, CTR with its interval, the policy)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Path, Request, Response

from vitrina.access.keys import Principal
from vitrina.creative.campaigns import MAX_PAGE, CampaignService, list_creatives
from vitrina.creative.documents import DocumentService
from vitrina.creative.policies import CAMPAIGN
from vitrina.creative.results import report
from vitrina.creative.serving import NoCreatives, SelectionService
from vitrina.ui.auth import viewer
from vitrina.ui.context import ui_of
from vitrina.ui.routing import page_router
from vitrina.ui.templates import NAV, NavItem, render
from vitrina.ui.urls import Urls

router = page_router()
NAV.append(NavItem("Creatives", "/creatives"))
#: a creative's picture in the grid: small, at twice its CSS width
CREATIVE_THUMB = "w_320,c_limit,q_70"
#: creatives shown on a campaign's page (its whole grid for any campaign of a sane size)
MAX_SHOWN = 2000
Campaign = Annotated[str, Path(pattern=f"^{CAMPAIGN.pattern}$")]


@router.get("/creatives")
def campaigns(request: Request, principal: Annotated[Principal, Depends(viewer)]) -> Response:
    records = DocumentService(ui_of(request).runtime.sessions).list(principal.project_id, "campaign")
    return render(request, "creatives.html", campaigns=records)


@dataclass(frozen=True)
class Cell:
    item: str
    placement: str
    creatives: list[dict[str, Any]]  # as the API lists them, with a "thumb" of ready ones


@router.get("/creatives/{campaign}")
def campaign(campaign: Campaign, request: Request, principal: Annotated[Principal, Depends(viewer)]) -> Response:
    rt = ui_of(request).runtime
    project = principal.project_id
    record = CampaignService(rt).get(project, campaign)  # another project's campaign: 404
    shown = _creatives(rt, project, campaign)
    urls = Urls.of(rt, project) if any(c["asset_id"] for c in shown) else None
    for c in shown:
        c["thumb"] = urls.image(c["asset_id"], CREATIVE_THUMB) if urls and c["asset_id"] else None
    placements = [p for p in record.document.get("placements", []) if isinstance(p, str)]
    items = list(dict.fromkeys(c["item_id"] for c in shown))
    by_variant = sorted(shown, key=lambda c: c["variant"])
    grid = [[Cell(item, p, [c for c in by_variant if (c["item_id"], c["placement"]) == (item, p)])
             for p in placements] for item in items]
    return render(request, "campaign.html", record=record, grid=grid, placements=placements,
                  reports=[_report(rt, project, campaign, p) for p in placements],
                  counts={s: sum(c["status"] == s for c in shown) for s in ("ready", "rejected")})


def _creatives(rt: Any, project: str, campaign: str) -> list[dict[str, Any]]:
    shown, cursor = [], None
    while len(shown) < MAX_SHOWN:
        page = list_creatives(rt, project, campaign, limit=MAX_PAGE, cursor=cursor)
        shown += page.items
        if (cursor := page.next_cursor) is None:
            break
    return shown


def _report(rt: Any, project: str, campaign: str, placement: str) -> dict[str, Any]:
    """The placement's report as ``GET /v1/creatives/{campaign}/{placement}/report``
    gives it; no variants before anything is rendered for it."""
    service = SelectionService.of(rt)
    try:
        variants = report(service.sessions, project, campaign, placement)
    except NoCreatives:
        return {"placement": placement, "policy": None, "variants": []}
    policy = service.policies.get(project, campaign, placement).to_dict()
    # in the grid's order (by variant), not by id: ids hash the run's own inputs
    variants.sort(key=lambda v: (tuple((v.get("factors") or {}).values()), v["creative_id"]))
    return {"placement": placement, "policy": policy, "variants": variants}
