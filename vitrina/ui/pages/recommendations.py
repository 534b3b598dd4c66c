"""Recommendations: the leaderboard of the project's latest evaluation (as `vitrina recs
evaluate` kept it), a preview of what the serving model answers for a user id typed in,
and monitoring per model and variant over a window (as `vitrina recs report` shows it:
impressions, CTR with its interval, coverage, drift)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from vitrina.access.keys import Principal
from vitrina.api.routers.recs import NO_NUL
from vitrina.errors import VitrinaError
from vitrina.recs import leaderboard
from vitrina.recs.artefacts import ModelStore
from vitrina.recs.monitoring import Window, monitor
from vitrina.recs.serving import MAX_K, RecsService
from vitrina.storage.catalog.experiments import UNIT_LENGTH
from vitrina.ui.auth import viewer
from vitrina.ui.charts import bar_chart
from vitrina.ui.context import ui_of
from vitrina.ui.routing import page_router
from vitrina.ui.templates import NAV, NavItem, render

router = page_router()
NAV.append(NavItem("Recommendations", "/recommendations"))
#: the monitoring windows offered, in hours
WINDOWS = (1, 24, 168)


@router.get("/recommendations")
async def recommendations(
    request: Request, principal: Annotated[Principal, Depends(viewer)],
    user: str = Query("", max_length=UNIT_LENGTH, pattern=NO_NUL),
    k: int = Query(10, ge=1, le=MAX_K),
    hours: int = Query(24, ge=1, le=max(WINDOWS)),
) -> Response:
    rt = ui_of(request).runtime
    project = principal.project_id
    board = await run_in_threadpool(latest_evaluation, ModelStore(rt.store), project)
    report = await run_in_threadpool(monitor, rt.sessions, project, Window.last(hours * 3600))
    preview, refused = None, None
    if user.strip():
        try:  # a refusal (no model promoted yet) is shown beside the form, not as the page
            preview = await run_in_threadpool(RecsService.of(rt).recommend, project, user.strip(), k)
        except VitrinaError as exc:
            refused = exc
    ctr = bar_chart([(f"{v.model} {v.variant or ''}".strip(), v.ctr, v.ctr_interval) for v in report.variants])
    return render(request, "recs.html", board=board, board_chart=board_chart(board), report=report,
                  ctr_chart=ctr, preview=preview, refused=refused, user=user, k=k, hours=hours,
                  windows=[(str(h), f"last {h} h") for h in WINDOWS])


def latest_evaluation(store: ModelStore, project: str) -> dict[str, Any] | None:
    """The project's newest kept evaluation run; None before any."""
    runs = leaderboard.history(store, project)
    return leaderboard.load(store, runs[-1]) if runs else None


def board_chart(board: dict[str, Any] | None):
    if not board or not board["models"]:
        return None
    metric = f"ndcg@{board['k']}"
    return bar_chart([(m["model"], m["metrics"].get(metric) or 0.0, None) for m in board["models"]])
