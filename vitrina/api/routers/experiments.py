"""/v1/experiments, /v1/exposures, /v1/events: define experiments, assign units, log
exposures and outcomes, read results (JSON and a PNG of the effect over time).

Every route acts in the caller's project (:func:`project_of`); the service scopes
each read and write to it."""

from __future__ import annotations

import json
import threading
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError, WithJsonSchema
from starlette.concurrency import run_in_threadpool

from vitrina.access.keys import Principal
from vitrina.api.deps import get_runtime, project_of, require
from vitrina.api.openapi import MODEL_REF
from vitrina.errors import Forbidden, InvalidInput
from vitrina.experiments.definitions import BUCKETS, Status, UnitType
from vitrina.experiments.errors import InvalidExperiment, InvalidMetric
from vitrina.experiments.metrics import MetricKind
from vitrina.experiments.stats.sequential import DEFAULT_TUNING
from vitrina.experiments.stats.srm import DEFAULT_THRESHOLD
from vitrina.experiments.targeting import OPERATORS
from vitrina.experiments_service import MAX_BATCH, ExperimentRecord, ExperimentService
from vitrina.experiments_service.service import assignment_dict

router = APIRouter(tags=["experiments"])
PREFIX = "/v1/experiments"
#: largest body of a log batch (MAX_BATCH items of a few hundred bytes)
_service_lock = threading.Lock()
TIMESTAMP = {"type": "number", "description": "epoch seconds (UTC); default: now"}


def service(request: Request) -> ExperimentService:
    """One service (and assigner cache) per app, made on first use."""
    state = request.app.state
    with _service_lock:
        if getattr(state, "experiments", None) is None:
            state.experiments = ExperimentService(get_runtime(request).sessions)
    return state.experiments


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- definitions and plans, typed for the documentation ------------------------------------
# They mirror what vitrina.experiments accepts (Experiment.from_dict, AnalysisPlan.from_dict),
# which stays the validator of record: a body is pre-checked against these models, then
# read by the library. Neither refuses what the other accepts, and both answer the same
# codes (invalid_experiment, invalid_metric).
_KEY = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$"
_NAME = r"^[A-Za-z0-9_.:-]{1,128}$"
_TIME = {"format": "date-time"}


class _Def(_Strict):
    # Python's re, as the library's checks use it (the same matches, to the trailing newline)
    model_config = ConfigDict(extra="forbid", regex_engine="python-re")


class VariantDef(_Def):
    key: str = Field(pattern=_KEY, description="the first variant is the control")
    weight: float = Field(1.0, ge=0, description="relative share of the experiment's units")
    value: Any = Field(None, description="JSON payload served with the variant")


class ConditionDef(_Def):
    attribute: str = Field(min_length=1)
    op: Literal[OPERATORS]  # type: ignore[valid-type]
    value: Any = Field(None, description="a list for `in` and `not_in`")


class LayerSlotDef(_Def):
    layer: str = Field(pattern=_KEY)
    start: int = Field(ge=0, lt=BUCKETS)
    end: int = Field(gt=0, le=BUCKETS, description=f"layer buckets [start, end) of {BUCKETS}")


class RolloutStageDef(_Def):
    start: str = Field(description="ISO 8601 time with a zone", json_schema_extra=_TIME)
    traffic: float = Field(ge=0, le=1)


class RolloutDef(_Def):
    stages: list[RolloutStageDef] = Field(min_length=1, description="starting at increasing times")


class ExperimentDefinition(_Def):
    """An experiment (or a flag) as ``Experiment.to_dict()`` gives it."""

    key: str = Field(pattern=_KEY)
    variants: list[VariantDef] = Field(min_length=1)
    unit_type: UnitType = UnitType.USER
    traffic: float = Field(1.0, ge=0, le=1, description="ignored while a rollout is set")
    targeting: list[ConditionDef] = Field(default_factory=list, description="all must hold")
    layer: LayerSlotDef | None = None
    rollout: RolloutDef | None = None
    status: Status = Status.RUNNING
    killed: bool = False
    in_holdout_scope: bool = True
    salt: str = Field("", description="default: the key; changing it reshuffles every unit")
    description: str = ""
    tags: list[str] = Field(default_factory=list)


class MetricDef(_Def):
    name: str = Field(pattern=_NAME)
    kind: MetricKind
    event: str = Field(pattern=_NAME)
    denominator: str | None = Field(None, description="ratio metrics only: the denominator event")
    aggregate: Literal["sum", "count"] = "sum"
    window: float | None = Field(None, description="seconds after the first exposure (null: no limit)")
    pre_window: float | None = Field(None, description="CUPED pre-exposure period in seconds")
    higher_is_better: bool = True


class GuardrailDef(_Def):
    metric: str = Field(description="a metric of the plan")
    tolerance: float = Field(0.0, ge=0, description="harm tolerated, on the scale of the effects")


class PriorDef(_Def):
    mean: float = 0.0
    variance: float = 1.0


class AnalysisPlanDef(_Def):
    """What to compute: the first metric is the primary one."""

    metrics: list[MetricDef] = Field(min_length=1)
    guardrails: list[GuardrailDef] = Field(default_factory=list)
    alpha: float = Field(0.05, gt=0, lt=1)
    relative: bool = True
    sequential_tuning: float = DEFAULT_TUNING
    srm_threshold: float = DEFAULT_THRESHOLD
    prior: PriorDef | None = None
    correction: bool = True


#: added to the OpenAPI components (the bodies refer to them)
DOCUMENTED_MODELS = (ExperimentDefinition, AnalysisPlanDef)
_DEFINITION = WithJsonSchema({MODEL_REF: "ExperimentDefinition"})
_PLAN = WithJsonSchema({"anyOf": [{MODEL_REF: "AnalysisPlanDef"}, {"type": "null"}]})
Definition = Annotated[dict[str, Any], _DEFINITION]
Plan = Annotated[dict[str, Any] | None, _PLAN]


def precheck(definition: dict[str, Any], plan: dict[str, Any] | None) -> None:
    """Refuse a body the models refuse, with the library's codes (it reads the rest)."""
    for model, data, error in ((ExperimentDefinition, definition, InvalidExperiment),
                               (AnalysisPlanDef, plan, InvalidMetric)):
        if data is None:
            continue
        try:
            model.model_validate(data)
        except ValidationError as exc:
            problems = [{"loc": list(e["loc"]), "msg": e["msg"]} for e in exc.errors()]
            first = problems[0]
            where = ".".join(str(p) for p in first["loc"]) or model.__name__
            raise error(f"{model.__name__}.{where}: {first['msg']}" if first["loc"] else first["msg"],
                        details={"problems": problems}) from None


class ExperimentIn(_Strict):
    definition: Definition = Field(description="An experiment as `Experiment.to_dict()` gives it.")
    plan: Plan = Field(None, description="Metrics (the first is primary), guardrails, alpha...")


class ExperimentUpdate(ExperimentIn):
    revision: int | None = Field(
        None, description="Refuse the update unless the stored revision is this one.")


class ExperimentOut(BaseModel):
    key: str
    status: str = Field(description="draft | running | stopped")
    killed: bool
    revision: int
    definition: Definition
    plan: Plan
    created_at: datetime
    updated_at: datetime


class ExperimentList(BaseModel):
    items: list[ExperimentOut]
    next_cursor: str | None


class AssignIn(_Strict):
    unit_id: str = Field(min_length=1, max_length=256)
    attributes: dict[str, Any] | None = Field(None, description="For targeting conditions.")
    log_exposure: bool = Field(False, description="Log the exposure (needs the write scope).")


class AssignmentOut(BaseModel):
    experiment: str
    unit_id: str
    variant: str
    in_experiment: bool
    reason: str = Field(description="assigned, not_running, killed, holdout, not_targeted, "
                                    "outside_layer or outside_traffic")
    value: Any = None


class Accepted(BaseModel):
    accepted: int = Field(description="items stored by this batch")
    duplicates: int = Field(0, description="events skipped because their id was already stored in "
                            "the project (a retry, or the same id sent for another unit)")


def _out(record: ExperimentRecord) -> ExperimentOut:
    return ExperimentOut(**record.to_dict())


def _batch_schema(name: str, item: dict[str, Any]) -> dict[str, Any]:
    items = {"type": "array", "maxItems": MAX_BATCH, "items": {"type": "object", **item}}
    schema = {"type": "object", "required": [name], "properties": {name: items}}
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


async def _json_list(request: Request, name: str) -> Any:
    """``{name: [...]}`` from the body (capped, declared and streamed, before it is read:
    :mod:`vitrina.api.limits`)."""
    body = await request.body()
    try:
        data = await run_in_threadpool(json.loads, body)  # a batch can be megabytes
    except ValueError:
        raise InvalidInput("the body is not JSON") from None
    if not isinstance(data, dict) or set(data) != {name}:
        raise InvalidInput(f'the body must be {{"{name}": [...]}}')
    return data[name]


@router.post(PREFIX, response_model=ExperimentOut, status_code=201,
             dependencies=[Depends(require("write"))])
def create_experiment(body: ExperimentIn, request: Request, response: Response) -> ExperimentOut:
    """Create an experiment (or a flag) from its definition and analysis plan."""
    precheck(body.definition, body.plan)
    record = service(request).create(project_of(request), body.definition, body.plan)
    response.headers["Location"] = f"{PREFIX}/{record.key}"
    return _out(record)


@router.get(PREFIX, response_model=ExperimentList, dependencies=[Depends(require("read"))])
def list_experiments(
    request: Request,
    status: str | None = Query(None, pattern="^(draft|running|stopped)$"),
    limit: int = Query(100, ge=1, le=500),
    cursor: str | None = Query(None, max_length=128),
) -> ExperimentList:
    """By key; pass ``next_cursor`` back as ``cursor`` for the next page."""
    records = service(request).list(project_of(request), status, limit + 1, cursor)
    more = len(records) > limit
    records = records[:limit]
    return ExperimentList(items=[_out(r) for r in records],
                          next_cursor=records[-1].key if more else None)


@router.get(PREFIX + "/{key}", response_model=ExperimentOut,
            dependencies=[Depends(require("read"))])
def get_experiment(key: str, request: Request) -> ExperimentOut:
    return _out(service(request).get(project_of(request), key))


@router.put(PREFIX + "/{key}", response_model=ExperimentOut,
            dependencies=[Depends(require("write"))])
def update_experiment(key: str, body: ExperimentUpdate, request: Request) -> ExperimentOut:
    """Replace the definition and plan; the revision goes up when anything changed."""
    precheck(body.definition, body.plan)
    return _out(service(request).update(project_of(request), key, body.definition, body.plan,
                                       body.revision))


@router.post(PREFIX + "/{key}/stop", response_model=ExperimentOut,
             dependencies=[Depends(require("write"))])
def stop_experiment(key: str, request: Request) -> ExperimentOut:
    """Stop: every unit gets the control; logged data stays for the analysis."""
    return _out(service(request).stop(project_of(request), key))


@router.post(PREFIX + "/{key}/kill", response_model=ExperimentOut,
             dependencies=[Depends(require("write"))])
def kill_experiment(key: str, request: Request) -> ExperimentOut:
    """Kill switch: every unit gets the control at once, whatever else is set."""
    return _out(service(request).kill(project_of(request), key))


@router.post(PREFIX + "/{key}/assign", response_model=AssignmentOut)
def assign(key: str, body: AssignIn, request: Request,
           principal: Annotated[Principal, Depends(require("read"))]) -> AssignmentOut:
    """The unit's variant (deterministic). With ``log_exposure`` the exposure is
    committed before the answer, only when the unit is in the experiment."""
    if body.log_exposure and not principal.allows("write"):
        raise Forbidden("logging an exposure needs the 'write' scope", details={"needed": "write"})
    answer = service(request).assign(project_of(request), key, body.unit_id, body.attributes,
                                     body.log_exposure)
    return AssignmentOut(**assignment_dict(body.unit_id, answer))


@router.post("/v1/exposures", response_model=Accepted, status_code=201,
             dependencies=[Depends(require("write"))],
             openapi_extra=_batch_schema("exposures", {
                 "required": ["experiment", "unit_id", "variant"],
                 "properties": {"experiment": {"type": "string"}, "unit_id": {"type": "string"},
                                "variant": {"type": "string"},
                                "timestamp": TIMESTAMP}}))
async def log_exposures(request: Request) -> Accepted:
    """A batch of exposures, all or nothing; a unit's earliest exposure is kept."""
    items = await _json_list(request, "exposures")
    return Accepted(accepted=await run_in_threadpool(service(request).log_exposures,
                                                      project_of(request), items))


@router.post("/v1/events", response_model=Accepted, status_code=201,
             dependencies=[Depends(require("write"))],
             openapi_extra=_batch_schema("events", {
                 "required": ["unit_id", "event"],
                 "properties": {"unit_id": {"type": "string"}, "event": {"type": "string"},
                                "value": {"type": "number", "default": 1},
                                "timestamp": TIMESTAMP,
                                "id": {"type": "string", "description": "stored once per id"},
                                "item_id": {"type": "string"}, "session_id": {"type": "string"},
                                "request_id": {"type": "string",
                                               "description": "the served recommendation"},
                                "model": {"type": "string"}, "variant": {"type": "string"},
                                "position": {"type": "integer", "minimum": 0},
                                "propensity": {"type": "number", "exclusiveMinimum": 0,
                                               "maximum": 1}}}))
async def log_events(request: Request) -> Accepted:
    """A batch of outcome events (clicks, purchases...), all or nothing. An event may
    name its item and session, and the served recommendation it came from."""
    items = await _json_list(request, "events")
    logged = await run_in_threadpool(service(request).log_events, project_of(request), items)
    return Accepted(accepted=logged, duplicates=logged.duplicates)


@router.get(PREFIX + "/{key}/results", dependencies=[Depends(require("read"))])
def results(key: str, request: Request,
            end: float | None = Query(None, description="Count events before this epoch time only.")
            ) -> dict[str, Any]:
    """The full result: every metric for every treatment (frequentist, sequential,
    Bayesian), Holm-adjusted p-values, the SRM check, guardrails, a recommendation."""
    return service(request).result(project_of(request), key, end).to_dict()


@router.get(PREFIX + "/{key}/results.png", dependencies=[Depends(require("read"))],
            responses={200: {"content": {"image/png": {}}}})
def results_png(key: str, request: Request,
                metric: str | None = Query(None, max_length=128,
                                           description="Default: the primary metric.")
                ) -> Response:
    """The metric's cumulative effect by day with its fixed-horizon and always-valid
    intervals, one panel per treatment; 409 ``no_data`` before any exposure."""
    png = service(request).plot(project_of(request), key, metric)
    return Response(png, media_type="image/png", headers={"Cache-Control": "no-store"})
