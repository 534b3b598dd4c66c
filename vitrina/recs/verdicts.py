"""One policy, three verdicts (decision 032): a stored model version measured offline
(its manifest's metrics), off-policy on the served lists in the events table, and in
an A/B test, next to the incumbent; the verdict is kept with the version.

Off-policy, a model is a deterministic ranking: at each logged request it shows what
``logged_slates.rankings`` says it would have shown. The estimators are the cascade
ones of ``vitrina.experiments.ope.slates`` (the logged propensity of a slot is given
the items above it), in clicks per shown slot. DR's reward model is a regularised
logistic regression on the item, the position and the user's activity before the
request (log 1 + positive events).

``beats_incumbent``: better NDCG@10 offline AND the paired SNIPS difference
(candidate minus incumbent, on the same requests) has its lower bound above 0, with
each ranking agreeing with at least ``MIN_AGREEING`` logged lists (else its interval
is not trusted). The A/B result is shown, never required: the rule decides whether a
version may get traffic through an experiment at all.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np

from vitrina.errors import InvalidInput, NotFound
from vitrina.recs.artefacts import ModelStore, verdict_key

OFFLINE_METRICS = ("ndcg@10", "recall@10")
DECIDING_METRIC = "ndcg@10"
ESTIMATORS = ("ips", "snips", "dr")
#: L2 strength of DR's reward model, in prior pseudo-observations at the overall rate
REWARD_MODEL_L2 = 10.0
#: logged lists a ranking must agree with down to the logged depth before its interval
#: is trusted: with fewer, the weights are heavy-tailed and the normal interval too
#: narrow (tests/experiments/test_ope.py measures the coverage)
MIN_AGREEING = 100


@dataclass(frozen=True)
class ModelRef:
    model: str
    version: int

    def __str__(self) -> str:
        return f"{self.model} v{self.version}"


@dataclass
class Verdicts:
    candidate: ModelRef
    incumbent: ModelRef
    offline: dict[str, Any]
    off_policy: dict[str, Any] | None
    ab: dict[str, Any] | None
    beats_incumbent: bool
    reasons: list[str] = field(default_factory=list)
    at: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))

    def to_dict(self) -> dict[str, Any]:
        return _finite(asdict(self))


def _finite(x: Any) -> Any:
    """NaN and infinities as null: JSON has no spelling for them."""
    if isinstance(x, dict):
        return {k: _finite(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_finite(v) for v in x]
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


def save_verdict(store: Any, project: str, verdicts: Verdicts) -> str:
    key = verdict_key(project, verdicts.candidate.model, verdicts.candidate.version)
    store.put_bytes(key, json.dumps(verdicts.to_dict(), indent=1).encode())
    return key


# -- the three figures ------------------------------------------------------------------

def _manifest(models: ModelStore, project: str, ref: ModelRef):
    manifest = models.manifest(project, ref.model, ref.version)
    if manifest is None:
        versions = models.versions(project, ref.model)
        raise NotFound(f"no version {ref.version} of model {ref.model!r} in this project"
                       + (f"; versions: {versions}" if versions else ""),
                       details={"model": ref.model, "version": ref.version})
    return manifest


def offline(models: ModelStore, project: str, candidate: ModelRef,
            incumbent: ModelRef) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for role, ref in (("candidate", candidate), ("incumbent", incumbent)):
        m = _manifest(models, project, ref)
        out[role] = {**{k: m.metrics.get(k) for k in OFFLINE_METRICS}, "split": m.split,
                     "interactions": m.counts.get("interactions"), "llm": m.llm}
    return out


def off_policy(models: ModelStore, sessions: Any, project: str, candidate: ModelRef,
               incumbent: ModelRef, since: float | None = None, until: float | None = None,
               alpha: float = 0.05) -> dict[str, Any] | None:
    """IPS, SNIPS and DR of both rankings on the served lists, and the paired
    differences; None when no complete served list is logged."""
    from vitrina.experiments.ope import LoggedFeedback, LogisticRewardModel
    from vitrina.experiments.ope.slates import SlateLogs, difference, estimate_ranking, weights
    from vitrina.recs.logged_slates import rankings, read_served_lists

    lists = read_served_lists(sessions, project, since, until)
    if lists.n_requests == 0:
        return None
    depth = int(lists.position.max()) + 1
    ranked = {role: rankings(models.load(project, ref.model, ref.version), lists, depth)
              for role, ref in (("candidate", candidate), ("incumbent", incumbent))}
    names = sorted(set(lists.item) | {i for r in ranked.values() for line in r for i in line})
    index = {name: n for n, name in enumerate(names)}
    action = np.array([index[i] for i in lists.item], dtype=np.int64)
    logs = SlateLogs(lists.slate, lists.position, action, lists.reward, lists.propensity)
    context = np.log1p(lists.activity)[lists.slate][:, None]
    reward_model = LogisticRewardModel(l2=REWARD_MODEL_L2).fit(
        LoggedFeedback(action, lists.reward, lists.propensity, len(names), lists.position,
                       context))
    q_logged = reward_model.predict(context, action, lists.position)
    out: dict[str, Any] = {
        "requests": lists.n_requests, "slots": len(action), "clicks": int(lists.reward.sum()),
        "logged_ctr": float(lists.reward.mean()), "dropped_requests": lists.dropped,
        "depth": depth, "alpha": alpha, "value": "clicks per shown slot",
        "since": since, "until": until,
        "reward_model": f"logistic(item, position, log1p(activity); l2={REWARD_MODEL_L2:g})",
    }
    estimates = {}
    for role, lines in ranked.items():
        chosen = np.array([index[lines[s][k]] if k < len(lines[s]) else -1
                           for s, k in zip(lists.slate, lists.position, strict=True)])
        q_chosen = reward_model.predict(context, np.maximum(chosen, 0), lists.position)
        estimates[role] = estimate_ranking(logs, chosen, q_logged, q_chosen, alpha=alpha)
        out[role] = {name: estimates[role][name].value.to_dict() for name in ESTIMATORS}
        w, _ = weights(logs, chosen)
        last = lists.position == np.bincount(lists.slate)[lists.slate] - 1
        # lists the ranking shows whole, as logged: the ones its estimate rests on
        out[role]["agreeing_requests"] = int((w[last] > 0).sum())
    out["difference"] = {name: difference(estimates["candidate"][name],
                                          estimates["incumbent"][name], alpha).to_dict()
                         for name in ESTIMATORS}
    return out


def _variant_of(record: Any, candidate: ModelRef, latest: int | None,
                variant: str | None) -> str:
    """The variant whose value names the candidate (decision 031: a model name, or
    {"model", "version"}; no version means the latest)."""
    keys = record.experiment.variant_keys
    if variant is not None:
        if variant not in keys:
            raise InvalidInput(f"{variant!r} is not a variant of {record.key!r}: {list(keys)}",
                               details={"variant": variant})
        return variant
    for v in record.experiment.variants:
        value = {"model": v.value} if isinstance(v.value, str) else v.value
        if not isinstance(value, dict) or value.get("model") != candidate.model:
            continue
        if value.get("version", latest) == candidate.version:
            return v.key
    raise InvalidInput(f"no variant of {record.key!r} serves {candidate} (its value names "
                       "the model and version); name it with --variant",
                       details={"experiment": record.key, "variants": list(keys)})


def ab(models: ModelStore, sessions: Any, project: str, key: str, candidate: ModelRef,
       variant: str | None = None) -> dict[str, Any]:
    from vitrina.experiments_service.service import ExperimentService

    service = ExperimentService(sessions)
    record = service.get(project, key)
    latest = (models.versions(project, candidate.model) or [None])[-1]
    chosen = _variant_of(record, candidate, latest, variant)
    if chosen == record.experiment.control.key:
        raise InvalidInput(f"{chosen!r} is the control of {key!r}: the candidate must be a "
                           "treatment", details={"variant": chosen})
    result = service.result(project, key)
    metrics = []
    for r in result.results:
        if r.variant != chosen:
            continue
        f = r.frequentist
        metrics.append({"metric": r.metric, "control_mean": f.control_mean,
                        "treatment_mean": f.treatment_mean, "effect": f.effect,
                        "relative": f.relative, "ci_low": f.ci_low, "ci_high": f.ci_high,
                        "p_value": f.p_value, "status": f.status.value,
                        "chance_to_win": r.bayesian.chance_to_win})
    return {"experiment": key, "control": result.control, "variant": chosen,
            "units": {"control": result.units.get(result.control, 0),
                      "variant": result.units.get(chosen, 0)},
            "srm": result.srm.status.value, "metrics": metrics,
            "recommendation": result.recommendation.value}


def decide(off: dict[str, Any], policy: dict[str, Any] | None) -> tuple[bool, list[str]]:
    """The rule of the module docstring, with a reason for each failed part."""
    reasons = []
    c, i = off["candidate"].get(DECIDING_METRIC), off["incumbent"].get(DECIDING_METRIC)
    if c is None or i is None or not c > i:
        reasons.append(f"offline: {DECIDING_METRIC} {_num(c)} is not above the incumbent's "
                       f"{_num(i)}")
    if policy is None:
        reasons.append("off-policy: no served lists with propensities are logged")
    else:
        for role in ("candidate", "incumbent"):
            agreeing = policy[role]["agreeing_requests"]
            if agreeing < MIN_AGREEING:
                reasons.append(f"off-policy: the {role} agrees with {agreeing} logged lists, "
                               f"fewer than {MIN_AGREEING}: its estimate is not trusted")
        low = policy["difference"]["snips"]["ci_low"]
        if low is None or not math.isfinite(low) or not low > 0:
            reasons.append(f"off-policy: the SNIPS difference's lower bound {_num(low)} is not "
                           "above 0")
    return not reasons, reasons


def compute(runtime: Any, project: str, candidate: ModelRef, incumbent: ModelRef,
            experiment: str | None = None, variant: str | None = None,
            since: float | None = None, until: float | None = None,
            alpha: float = 0.05) -> Verdicts:
    if candidate == incumbent:
        raise InvalidInput(f"the candidate and the incumbent are both {candidate}")
    models = ModelStore(runtime.store)
    off = offline(models, project, candidate, incumbent)
    policy = off_policy(models, runtime.sessions, project, candidate, incumbent, since, until,
                        alpha)
    test = (ab(models, runtime.sessions, project, experiment, candidate, variant)
            if experiment else None)
    beats, reasons = decide(off, policy)
    return Verdicts(candidate, incumbent, off, policy, test, beats, reasons)


# -- the report -------------------------------------------------------------------------

def _num(x: Any, spec: str = ".4f") -> str:
    return "-" if x is None or (isinstance(x, float) and not math.isfinite(x)) else format(x, spec)


def _interval(v: dict[str, Any]) -> str:
    return f"{_num(v.get('value'))} [{_num(v.get('ci_low'))}, {_num(v.get('ci_high'))}]"


def render(v: Verdicts | dict[str, Any]) -> str:
    """The three verdicts side by side, one row per figure."""
    d = v.to_dict() if isinstance(v, Verdicts) else v
    cand = f"{d['candidate']['model']} v{d['candidate']['version']}"
    inc = f"{d['incumbent']['model']} v{d['incumbent']['version']}"
    width = max(30, len(cand), len(inc))
    rows = [(f"{'verdict':10} {'figure':18} {'candidate ' + cand:{width + 10}} "
             f"{'incumbent ' + inc:{width + 10}} difference")]
    off = d["offline"]
    for metric in OFFLINE_METRICS:
        c, i = off["candidate"].get(metric), off["incumbent"].get(metric)
        diff = _num(c - i, "+.4f") if c is not None and i is not None else "-"
        rows.append(f"{'offline':10} {metric:18} {_num(c):{width + 10}} {_num(i):{width + 10}} {diff}")
    policy = d["off_policy"]
    if policy is None:
        rows.append(f"{'off-policy':10} no served lists with propensities logged")
    else:
        for name in ESTIMATORS:
            rows.append(f"{'off-policy':10} {name.upper() + ' (CTR/slot)':18} "
                        f"{_interval(policy['candidate'][name]):{width + 10}} "
                        f"{_interval(policy['incumbent'][name]):{width + 10}} "
                        f"{_interval(policy['difference'][name])}")
    test = d["ab"]
    if test is None:
        rows.append(f"{'A/B':10} no experiment given")
    else:
        for m in test["metrics"]:
            effect = ("-" if m["effect"] is None else
                      (f"{m['effect']:+.2%}" if m["relative"] else f"{m['effect']:+.4g}"))
            low, high = m["ci_low"], m["ci_high"]
            ci = "" if low is None or high is None else (
                f" [{low:+.2%}, {high:+.2%}]" if m["relative"] else f" [{low:+.4g}, {high:+.4g}]")
            rows.append(f"{'A/B':10} {m['metric'][:18]:18} "
                        f"{_num(m['treatment_mean'], '.4g') + ' (' + test['variant'] + ')':{width + 10}} "
                        f"{_num(m['control_mean'], '.4g') + ' (' + test['control'] + ')':{width + 10}} "
                        f"{effect}{ci}")
        rows.append(f"{'A/B':10} {test['experiment']}: sample ratio {test['srm']}, "
                    f"recommendation {test['recommendation']}")
    if policy is not None:
        rows.append(f"logs: {policy['requests']} requests, {policy['slots']} shown slots, "
                    f"{policy['clicks']} clicks, depth {policy['depth']}, "
                    f"incomplete requests left out: {policy['dropped_requests']}; "
                    f"lists shown whole as each would show them: "
                    f"{policy['candidate']['agreeing_requests']} / "
                    f"{policy['incumbent']['agreeing_requests']}")
    rows.append(f"beats incumbent: {'yes' if d['beats_incumbent'] else 'no'}")
    rows += [f"  {r}" for r in d.get("reasons", [])]
    return "\n".join(rows)
