"""Experiments: the project's experiments (status, variants, traffic), a form that
creates one (checked as ``POST /v1/experiments`` checks it; a refusal is shown at the
field it concerns, with its stable code), an experiment's results (per metric: control,
treatment, the effect and its interval drawn as a small plot, p-values; the sample-ratio
check and guardrails above them), and the kill switch."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Form, Request, Response
from fastapi.responses import RedirectResponse
from starlette.concurrency import run_in_threadpool

from vitrina.access.keys import Principal
from vitrina.api.routers.experiments import precheck
from vitrina.api.routers.experiments import service as experiment_service
from vitrina.errors import InvalidInput, VitrinaError
from vitrina.experiments import ExperimentResult
from vitrina.experiments.errors import InvalidExperiment, InvalidMetric
from vitrina.experiments.metrics import MetricKind
from vitrina.experiments_service.errors import ExperimentExists, NoAnalysisPlan
from vitrina.ui.auth import allowed, csrf_checked, viewer
from vitrina.ui.charts import EffectPlot, effect_plot
from vitrina.ui.routing import page_router
from vitrina.ui.templates import NAV, NavItem, render

router = page_router()
NAV.append(NavItem("Experiments", "/experiments"))
#: experiments listed on the page (the API pages through more)
LISTED = 200
FIELD = Form(max_length=200)
FIELDS = ("key", "variants", "weights", "traffic", "description", "metric_name", "metric_kind",
          "metric_event", "guardrail_name", "guardrail_kind", "guardrail_event", "guardrail_tolerance")
EMPTY_FORM = {**dict.fromkeys(FIELDS, ""), "variants": "control, treatment", "traffic": "1",
              "metric_kind": "proportion", "guardrail_kind": "mean", "guardrail_tolerance": "0"}


@router.get("/experiments")
def experiments(request: Request, principal: Annotated[Principal, Depends(viewer)]) -> Response:
    return _list_page(request, principal, EMPTY_FORM, None)


def _list_page(request: Request, principal: Principal, form: dict[str, str],
               refused: tuple[str, VitrinaError] | None, status: int = 200) -> Response:
    records = experiment_service(request).list(principal.project_id, limit=LISTED)
    return render(request, "experiments.html", status=status, experiments=records, form=form,
                  refused=refused, kinds=list(MetricKind))


@router.post("/ui/experiments", dependencies=[Depends(csrf_checked)])
async def create(request: Request, principal: Annotated[Principal, Depends(allowed("write"))],
                 key: Annotated[str, FIELD], variants: Annotated[str, FIELD],
                 metric_name: Annotated[str, FIELD], metric_kind: Annotated[str, FIELD],
                 metric_event: Annotated[str, FIELD], weights: Annotated[str, FIELD] = "",
                 traffic: Annotated[str, FIELD] = "1", description: Annotated[str, Form(max_length=2000)] = "",
                 guardrail_name: Annotated[str, FIELD] = "", guardrail_kind: Annotated[str, FIELD] = "mean",
                 guardrail_event: Annotated[str, FIELD] = "",
                 guardrail_tolerance: Annotated[str, FIELD] = "0") -> Response:
    """Create from the form; a refusal shows the form again with the values typed."""
    typed = (key, variants, weights, traffic, description, metric_name, metric_kind, metric_event,
             guardrail_name, guardrail_kind, guardrail_event, guardrail_tolerance)
    form = {name: value.strip() for name, value in zip(FIELDS, typed, strict=True)}
    try:
        definition, plan = _bodies(form)
        precheck(definition, plan)  # the API's own checks, with its codes
        service = experiment_service(request)
        record = await run_in_threadpool(service.create, principal.project_id, definition, plan)
    except VitrinaError as exc:
        return _list_page(request, principal, form, (field_of(exc), exc), status=exc.status)
    return RedirectResponse(f"/experiments/{record.key}", status_code=303)


def _bodies(form: dict[str, str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The form as the API's definition and analysis plan."""
    keys = [k.strip() for k in form["variants"].split(",") if k.strip()]
    weights = [w.strip() for w in form["weights"].split(",") if w.strip()] or ["1"] * len(keys)
    if len(weights) != len(keys):
        raise InvalidExperiment(f"give one weight per variant ({len(keys)}), or none for an even split",
                                details={"field": "weights"})
    definition = {"key": form["key"], "variants": [{"key": k, "weight": _number(w)} for k, w in zip(keys, weights)],
                  "traffic": _number(form["traffic"] or "1"), "description": form["description"]}
    metrics = [{"name": form["metric_name"], "kind": form["metric_kind"], "event": form["metric_event"]}]
    plan: dict[str, Any] = {"metrics": metrics}
    if form["guardrail_name"]:
        metrics.append({"name": form["guardrail_name"], "kind": form["guardrail_kind"],
                        "event": form["guardrail_event"]})
        plan["guardrails"] = [{"metric": form["guardrail_name"],
                               "tolerance": _number(form["guardrail_tolerance"] or "0")}]
    return definition, plan


def _number(text: str) -> float | str:
    """A number, or the text as typed for the checks to refuse by name."""
    try:
        return float(text)
    except ValueError:
        return text


#: the form's field for a refusal: by the location the API's checks name...
_BY_LOCATION = {("key",): "key", ("variants", "key"): "variants", ("variants",): "variants",
                ("variants", "weight"): "weights", ("traffic",): "traffic", ("description",): "description",
                ("metrics", 0, "name"): "metric_name", ("metrics", 0, "kind"): "metric_kind",
                ("metrics", 0, "event"): "metric_event", ("metrics", 1, "name"): "guardrail_name",
                ("metrics", 1, "kind"): "guardrail_kind", ("metrics", 1, "event"): "guardrail_event",
                ("guardrails", 0, "tolerance"): "guardrail_tolerance"}
#: ...else by the words of the library's message
_BY_WORDS = ((re.compile(r"weight"), "weights"), (re.compile(r"variant"), "variants"),
             (re.compile(r"traffic"), "traffic"), (re.compile(r"unique|guardrail"), "guardrail_name"),
             (re.compile(r"event"), "metric_event"), (re.compile(r"kind"), "metric_kind"))


def field_of(exc: VitrinaError) -> str:
    """The form field a refusal concerns ('' for the form as a whole)."""
    details = exc.details or {}
    if isinstance(details.get("field"), str):
        return details["field"]
    if isinstance(exc, ExperimentExists):
        return "key"
    problems = details.get("problems")
    if isinstance(problems, list) and problems and isinstance(problems[0], dict):
        loc = tuple(problems[0].get("loc", []))
        if loc[:1] == ("variants",):  # which variant does not matter: they share one field
            loc = tuple(p for p in loc if not isinstance(p, int))
        for size in (3, 2, 1):  # the longest known location
            if loc[:size] in _BY_LOCATION:
                return _BY_LOCATION[loc[:size]]
    if isinstance(exc, InvalidExperiment | InvalidMetric):
        for pattern, field in _BY_WORDS:
            if pattern.search(exc.message):
                return field
        return "key" if isinstance(exc, InvalidExperiment) else "metric_name"
    return ""


@dataclass(frozen=True)
class Row:
    """One metric for one treatment, as the results table shows it."""

    metric: str
    variant: str
    control_mean: float | None
    treatment_mean: float | None
    effect: float | None
    ci_low: float | None
    ci_high: float | None
    relative: bool
    p_value: float | None
    adjusted_p_value: float | None
    chance_to_win: float | None
    status: str
    plot: EffectPlot | None


def rows(result: ExperimentResult) -> list[Row]:
    out = []
    for r in result.results:
        f = r.frequentist
        out.append(Row(r.metric, r.variant, f.control_mean, f.treatment_mean, f.effect, f.ci_low, f.ci_high,
                       f.relative, f.p_value, r.adjusted_p_value, r.bayesian.chance_to_win, f.status.value,
                       effect_plot(f.effect, f.ci_low, f.ci_high)))
    return out


@router.get("/experiments/{key}")
def experiment(key: str, request: Request, principal: Annotated[Principal, Depends(viewer)]) -> Response:
    service = experiment_service(request)
    record = service.get(principal.project_id, key)
    result, no_plan = None, None
    try:
        result = service.result(principal.project_id, key)
    except NoAnalysisPlan as exc:
        no_plan = exc
    return render(request, "experiment.html", record=record, e=record.experiment, result=result,
                  rows=rows(result) if result is not None else [], no_plan=no_plan)


@router.post("/ui/experiments/{key}/kill", dependencies=[Depends(csrf_checked)])
async def kill(key: str, request: Request, principal: Annotated[Principal, Depends(allowed("write"))],
               confirm: Annotated[str, Form(max_length=10)] = "") -> Response:
    """The kill switch: every unit gets the control at once. The form's confirmation box
    must be ticked (a stray click changes nothing)."""
    if confirm != "yes":
        raise InvalidInput("tick the confirmation to stop this experiment", code="confirmation_needed")
    await run_in_threadpool(experiment_service(request).kill, principal.project_id, key)
    return RedirectResponse(f"/experiments/{key}", status_code=303)
