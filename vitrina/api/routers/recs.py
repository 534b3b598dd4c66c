"""/v1/recommendations and /v1/items/{item_id}/similar: answers from the project's
promoted recommender (decision 028, "Training and serving")."""

from __future__ import annotations

import time

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel

from vitrina.api.deps import get_runtime, project_of, require
from vitrina.recs.serving import MAX_K, RecsService
from vitrina.storage.catalog.experiments import KEY_LENGTH, UNIT_LENGTH

router = APIRouter(tags=["recommendations"])
#: text a catalog can look up (PostgreSQL refuses a NUL in a query's parameters)
NO_NUL = r"^[^\x00]*$"


def service(request: Request) -> RecsService:
    return RecsService.of(get_runtime(request))


class Ranked(BaseModel):
    item_id: str
    score: float
    position: int


class Served(Ranked):
    #: the probability the serving policy put this item at this position given the
    #: places before it (1 without exploration): log it with the item's impression
    propensity: float


class Recommendations(BaseModel):
    user: str
    items: list[Served]
    model: str
    version: int
    surface: str | None
    experiment: str | None
    #: the surface experiment's variant that answered (null: none)
    variant: str | None
    #: the probability of that variant for a user in the experiment
    propensity: float | None
    #: log it with the impressions and clicks of these items
    request_id: str
    #: why another list answered: popularity (unknown user, model failed or too slow),
    #: variant_invalid or variant_unavailable (the promoted model answered)
    fallback: str | None


class Similar(BaseModel):
    item_id: str
    items: list[Ranked]
    model: str
    version: int


@router.get("/v1/recommendations", response_model=Recommendations,
            dependencies=[Depends(require("read"))])
def recommendations(request: Request,
                    user: str = Query(..., min_length=1, max_length=UNIT_LENGTH, pattern=NO_NUL),
                    k: int = Query(10, ge=1, le=MAX_K),
                    surface: str | None = Query(None, min_length=1, max_length=KEY_LENGTH, pattern=NO_NUL,
                                                description="The placement; its experiment "
                                                "(the one keyed by this name) picks the model."),
                    exclude_seen: bool = Query(True, description="Leave out items the user "
                                               "interacted with (purchases always are)."),
                    diversity: float | None = Query(None, ge=0, le=1, description="MMR's weight on "
                                                    "novelty (0: by relevance only)."),
                    freshness_days: float | None = Query(None, gt=0, le=36_500, description="Boost "
                                                         "new items: relevance halves every this "
                                                         "many days since publication."),
                    ) -> Recommendations:
    """The ``k`` best items for ``user``: from the model the ``surface``'s experiment
    assigns the user to (logging the exposure), else the promoted model; an unknown user
    from their recent events when the model can fold them in, else (or when the model
    fails or is too slow) by popularity (``fallback``). Purchased and inactive items are
    never returned. Log impressions and clicks with ``request_id``, ``model``,
    ``variant``, and each item's ``position`` and ``propensity``."""
    started = time.perf_counter()
    r = service(request).recommend(project_of(request), user, k, exclude_seen, surface,
                                   diversity, freshness_days)
    metrics = request.app.state.metrics
    labels = (surface or "", r.model, r.variant or "")
    metrics.recs_latency.labels(*labels).observe(time.perf_counter() - started)
    metrics.recs_served.labels(*labels, r.fallback or "").inc()
    return Recommendations(user=r.user, items=[Served(**i) for i in r.items], model=r.model,
                           version=r.version, surface=surface, experiment=r.experiment,
                           variant=r.variant, propensity=r.propensity,
                           request_id=r.request_id, fallback=r.fallback)


@router.get("/v1/items/{item_id}/similar", response_model=Similar,
            dependencies=[Depends(require("read"))])
def similar(item_id: str, request: Request, k: int = Query(10, ge=1, le=MAX_K)) -> Similar:
    """The ``k`` items nearest ``item_id`` by the promoted model (never itself)."""
    r = service(request).similar(project_of(request), item_id, k)
    return Similar(item_id=item_id, items=[Ranked(**i) for i in r.items], model=r.model,
                   version=r.version)
