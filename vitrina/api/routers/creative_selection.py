"""GET /v1/creatives/{campaign}/{placement}: the variant to show, chosen by the
placement's policy (decision 036, "Serving"); its report and off-policy estimates."""

from __future__ import annotations

import threading
import time
from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from prometheus_client import Counter, Histogram
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from vitrina.api.deps import get_runtime, project_of, require
from vitrina.creative.policies import (
    CAMPAIGN,
    PLACEMENT,
    InvalidContext,
)
from vitrina.creative.results import estimate, report
from vitrina.creative.serving import (
    SelectionService,
)
from vitrina.storage.catalog.experiments import UNIT_LENGTH

router = APIRouter(tags=["creative"])

Campaign = Annotated[str, Path(pattern=f"^{CAMPAIGN.pattern}$", description="The campaign's id.")]
Placement = Annotated[str, Path(pattern=f"^{PLACEMENT.pattern}$", description="The placement, e.g. square.")]
_lock = threading.Lock()


def service(request: Request) -> SelectionService:
    return SelectionService.of(get_runtime(request))


def _metrics(request: Request) -> tuple[Histogram, Counter]:
    """This app's selection metrics, registered on its registry on first use."""
    state = request.app.state
    found = getattr(state, "creative_metrics", None)
    if found is None:
        with _lock:
            found = getattr(state, "creative_metrics", None)
            if found is None:
                registry = state.metrics.registry
                found = state.creative_metrics = (
                    Histogram("vitrina_creative_select_seconds",
                              "Time to answer GET /v1/creatives/{campaign}/{placement}",
                              ["policy"], registry=registry,
                              buckets=(.0005, .001, .002, .003, .005, .0075, .01, .02, .05,
                                       .1, .25, 1)),
                    Counter("vitrina_creative_served_total", "Creative answers",
                            ["policy", "fallback"], registry=registry))
    return found


def context_of(request: Request) -> dict[str, str]:
    """``context.<feature>=<value>`` query parameters, each feature once."""
    out: dict[str, str] = {}
    for key, value in request.query_params.multi_items():
        if key.startswith("context."):
            name = key[len("context."):]
            if name in out:
                raise InvalidContext(f"context.{name[:32]} is given twice", details={"feature": name[:32]})
            out[name] = value
    return out


class Creative(BaseModel):
    creative_id: str
    asset_id: str | None
    #: the creative's picture as a signed /img URL (null: the project has no signing key)
    url: str | None
    factors: dict[str, str]
    policy: str
    #: the probability this creative had of being chosen: log it with the impression
    propensity: float
    #: send it back with the impression, click and purchase events (model "creative",
    #: variant = creative_id)
    request_id: str
    user: str | None
    #: why the policy did not choose: uniform (the policy failed or was over its budget)
    fallback: str | None


@router.get("/v1/creatives/{campaign}/{placement}", response_model=Creative,
            dependencies=[Depends(require("read"))],
            responses={404: {"description": "no_creatives: no ready creative here"},
                       400: {"description": "invalid_context or invalid_input"}})
async def select_creative(request: Request, campaign: Campaign, placement: Placement,
                          user: str | None = Query(None, min_length=1, max_length=UNIT_LENGTH,
                                                   description="Echoed for the events' unit_id."),
                          ) -> Creative:
    """One ready creative of the campaign at the placement, chosen by the placement's
    policy (`vitrina creative policy`; thompson by default) for this request's context,
    given as ``context.<feature>=<value>`` parameters (at most 8; names of 1-32 letters,
    digits, ``_`` or ``-``; values of 1-64 characters). Log its impression, click and
    purchase as events with ``model: "creative"``, ``variant``: the creative id, the
    ``request_id`` and the ``propensity``."""
    started = time.perf_counter()
    svc, project, context = service(request), project_of(request), context_of(request)
    if svc.is_warm(project, campaign, placement):
        s = svc.select(project, campaign, placement, context)
    else:
        s = await run_in_threadpool(svc.select, project, campaign, placement, context)
    latency, served = _metrics(request)
    latency.labels(s.policy).observe(time.perf_counter() - started)
    served.labels(s.policy, s.fallback or "").inc()
    base = get_runtime(request).settings.public_base_url.rstrip("/") or \
        str(request.base_url).rstrip("/")
    return Creative(**{**asdict(s), "url": base + s.url if s.url else None}, user=user)


class VariantResult(BaseModel):
    creative_id: str
    status: str
    factors: dict[str, str]
    impressions: int
    clicks: int
    conversions: int
    ctr: float | None
    ctr_interval: list[float] | None
    conversion: float | None
    conversion_interval: list[float] | None


class Report(BaseModel):
    campaign: str
    placement: str
    policy: dict[str, Any]
    variants: list[VariantResult]


@router.get("/v1/creatives/{campaign}/{placement}/report", response_model=Report,
            dependencies=[Depends(require("read"))])
def creative_report(request: Request, campaign: Campaign, placement: Placement) -> Report:
    """Per creative: impressions, clicks and conversions (one each per answered request),
    CTR and conversion per impression with 95 % Wilson intervals, each creative from
    its own counts only. Clicks and purchases count with an impression of the same
    creative under the same request id."""
    svc, project = service(request), project_of(request)
    rows = report(svc.sessions, project, campaign, placement)
    config = svc.policies.get(project, campaign, placement)  # report() found its creatives
    return Report(campaign=campaign, placement=placement, policy=config.to_dict(),
                  variants=[VariantResult(**r) for r in rows])


class Candidate(BaseModel):
    policy: str
    options: dict[str, Any] | None = None
    context: dict[str, list[str]] | None = None
    creative_id: str | None = None


class Estimate(BaseModel):
    value: float
    interval: list[float]


class Estimates(BaseModel):
    impressions: int
    reward: str
    #: the logging policy's own reward per impression
    logged: float
    estimates: dict[str, Estimate]


@router.post("/v1/creatives/{campaign}/{placement}/estimate", response_model=Estimates,
             dependencies=[Depends(require("read"))],
             responses={404: {"description": "no_creatives or no_logs"},
                        422: {"description": "invalid_candidate"}})
def creative_estimate(request: Request, campaign: Campaign, placement: Placement,
                      candidate: Candidate,
                      reward: str = Query("click", pattern="^(click|conversion)$")) -> Estimates:
    """What ``candidate`` would earn per impression here, estimated off-policy (IPS,
    SNIPS, DR with 95 % intervals) on the logged answers before it is switched on: a
    policy ({policy, options, context}, as it would serve having learned from these
    logs) or ``{"policy": "fixed", "creative_id": ...}``."""
    body = candidate.model_dump(exclude_none=True)
    return Estimates(**estimate(service(request), project_of(request), campaign, placement,
                                body, reward))


class Policy(BaseModel):
    policy: str = "thompson"
    options: dict[str, Any] | None = None
    context: dict[str, list[str]] | None = None


@router.put("/v1/creatives/{campaign}/{placement}/policy", response_model=Policy,
            dependencies=[Depends(require("write"))],
            responses={422: {"description": "invalid_policy"}})
def put_policy(request: Request, campaign: Campaign, placement: Placement, body: Policy) -> Policy:
    """The placement's selection policy from now on (this process at once, others within
    their refresh): thompson (the default), mvt, contextual (with its context space,
    e.g. ``{"device": ["mobile", "desktop"]}``) or uniform, with the policy's options."""
    config = service(request).set_policy(project_of(request), campaign, placement,
                                         body.model_dump(exclude_none=True))
    return Policy(**config.to_dict())


@router.get("/v1/creatives/{campaign}/{placement}/policy", response_model=Policy,
            dependencies=[Depends(require("read"))])
def get_policy(request: Request, campaign: Campaign, placement: Placement) -> Policy:
    """The placement's selection policy (thompson when none was set)."""
    return Policy(**service(request).policy(project_of(request), campaign, placement).to_dict())
