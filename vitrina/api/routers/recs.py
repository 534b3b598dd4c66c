"""/v1/recommendations and /v1/items/{item_id}/similar: answers from the project's
promoted recommender (decision 028, "Training and serving")."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel

from vitrina.api.deps import get_runtime, project_of, require
from vitrina.ids import new_id
from vitrina.recs.serving import MAX_K, RecsService

router = APIRouter(tags=["recommendations"])


def service(request: Request) -> RecsService:
    return RecsService.of(get_runtime(request))


class Ranked(BaseModel):
    item_id: str
    score: float
    position: int


class Recommendations(BaseModel):
    user: str
    items: list[Ranked]
    model: str
    version: int
    #: surface experiments are not wired in yet: always null
    variant: str | None
    propensity: float | None
    request_id: str
    fallback: str | None


class Similar(BaseModel):
    item_id: str
    items: list[Ranked]
    model: str
    version: int


@router.get("/v1/recommendations", response_model=Recommendations,
            dependencies=[Depends(require("read"))])
def recommendations(request: Request,
                    user: str = Query(..., min_length=1, max_length=200),
                    k: int = Query(10, ge=1, le=MAX_K),
                    exclude_seen: bool = Query(True, description="Leave out items the user "
                                               "interacted with (purchases always are).")
                    ) -> Recommendations:
    """The ``k`` best items for ``user`` from the promoted model: a known user by the
    model, an unknown one from their recent events when the model can fold them in,
    else (or when the model fails or is too slow) by popularity (``fallback``).
    Purchased and inactive items are never returned."""
    r = service(request).recommend(project_of(request), user, k, exclude_seen)
    return Recommendations(user=r.user, items=[Ranked(**i) for i in r.items], model=r.model,
                           version=r.version, variant=None, propensity=None,
                           request_id=new_id(), fallback=r.fallback)


@router.get("/v1/items/{item_id}/similar", response_model=Similar,
            dependencies=[Depends(require("read"))])
def similar(item_id: str, request: Request, k: int = Query(10, ge=1, le=MAX_K)) -> Similar:
    """The ``k`` items nearest ``item_id`` by the promoted model (never itself)."""
    r = service(request).similar(project_of(request), item_id, k)
    return Similar(item_id=item_id, items=[Ranked(**i) for i in r.items], model=r.model,
                   version=r.version)
