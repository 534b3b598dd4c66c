"""Usage and storage cost: what the project holds (by media kind and by class of file),
what it served, its quotas, and what holding its bytes costs a month: at the configured
price, or at a stated assumption when none is set."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Annotated

from fastapi import Depends, Request, Response
from starlette.concurrency import run_in_threadpool

from vitrina.access.keys import Principal
from vitrina.projects.usage import BYTES_PER_GB, UsageReport
from vitrina.ui.auth import viewer
from vitrina.ui.context import ui_of
from vitrina.ui.routing import page_router
from vitrina.ui.templates import NAV, NavItem, render

router = page_router()
NAV.append(NavItem("Usage", "/usage"))
#: the price shown when the settings name none: a common object-storage list price
#: (USD per GB-month), labelled on the page as an assumption
ASSUMED_PRICE_PER_GB_MONTH = 0.023


@dataclass(frozen=True)
class StorageCost:
    price_per_gb_month: float
    assumed: bool  # no price in the settings: the page says so
    gb: float
    per_month: float


def storage_cost(report: UsageReport) -> StorageCost:
    """The report's own monthly cost, priced at the assumption when it has no price."""
    assumed = not report.price_per_gb_month
    priced = replace(report, price_per_gb_month=ASSUMED_PRICE_PER_GB_MONTH) if assumed else report
    return StorageCost(priced.price_per_gb_month, assumed, report.bytes / BYTES_PER_GB,
                       priced.storage_cost_per_month or 0.0)


@router.get("/usage")
async def usage(request: Request, principal: Annotated[Principal, Depends(viewer)]) -> Response:
    report = await run_in_threadpool(ui_of(request).runtime.usage.report, principal.project_id)
    quotas = [(q, None if not q.limit else min(100, round(100 * q.current / q.limit))) for q in report.quotas]
    return render(request, "usage.html", report=report, cost=storage_cost(report), quotas=quotas)
