"""A placement's results from the event log (decision 036, "Results"): each creative's
counts with Wilson intervals, and off-policy estimates of a candidate policy on the
logged answers before it is switched on."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from sqlalchemy import and_, func, select

from vitrina.creative.learning import MODEL, OUTCOMES
from vitrina.creative.policies import (
    InvalidPolicy,
    PolicyConfig,
    decode_context,
)
from vitrina.creative.reports import DecisionLog, off_policy, per_context
from vitrina.creative.reports import report as per_variant
from vitrina.creative.selection import Grid, Outcomes, Selector
from vitrina.creative.serving import (
    Arm,
    SelectionService,
    factors_of,
    mvt_grid,
    mvt_probabilities,
    placement_creatives,
)
from vitrina.errors import NotFound, VitrinaError
from vitrina.experiments.errors import InvalidLogs
from vitrina.storage.catalog.creative import CreativeRow
from vitrina.storage.catalog.experiments import EventRow


def logged(sessions: Any, project: str, creative_ids: list[str]) -> list[tuple]:
    """One row per answered request with an impression of one of ``creative_ids``:
    (creative, request id, propensity, clicked, converted). A click or purchase counts
    only with an impression of the same creative under the same request id."""
    base = and_(EventRow.project_id == project, EventRow.model == MODEL,
                EventRow.variant.in_(creative_ids))
    imp = (select(EventRow.variant, EventRow.request_id, func.max(EventRow.propensity).label("p"))
           .where(base, EventRow.event == "impression", EventRow.request_id.is_not(None))
           .group_by(EventRow.variant, EventRow.request_id).subquery())
    outs = {name: select(EventRow.variant, EventRow.request_id)
            .where(base, EventRow.event == name).distinct().subquery()
            for name in OUTCOMES}
    c, p = outs["click"], outs["purchase"]
    query = (select(imp.c.variant, imp.c.request_id, imp.c.p, c.c.request_id.is_not(None),
                    p.c.request_id.is_not(None))
             .outerjoin(c, and_(c.c.request_id == imp.c.request_id, c.c.variant == imp.c.variant))
             .outerjoin(p, and_(p.c.request_id == imp.c.request_id, p.c.variant == imp.c.variant))
             .order_by(imp.c.request_id))
    with sessions() as s:
        return [tuple(r) for r in s.execute(query).all()]


def report(sessions: Any, project: str, campaign: str, placement: str,
           alpha: float = 0.05) -> list[dict[str, Any]]:
    """Per creative of the placement: impressions, clicks, conversions, CTR and
    conversion with Wilson intervals from its own counts (``reports.report``)."""
    rows = placement_creatives(sessions, project, campaign, placement)
    ids = [r.creative_id for r in rows]
    found = logged(sessions, project, ids)
    outcomes = Outcomes(tuple(r[0] for r in found), np.ones(len(found), np.int64),
                        np.array([int(r[3]) for r in found], np.int64),
                        np.array([int(r[4]) for r in found], np.int64))
    status = {r.creative_id: r.status for r in rows}
    factors = {r.creative_id: factors_of(r) for r in rows}
    return [{**v.to_dict(), "creative_id": v.variant, "status": status[v.variant],
             "factors": factors[v.variant]} for v in per_variant(outcomes, ids, alpha=alpha)]


class InvalidCandidate(VitrinaError):
    status, code = 422, "invalid_candidate"


def estimate(service: SelectionService, project: str, campaign: str, placement: str,
             candidate: Any, reward: str = "click", alpha: float = 0.05) -> dict[str, Any]:
    """IPS, SNIPS and DR estimates of ``candidate``'s reward per impression on the
    placement's logged answers. ``candidate`` is a policy ({policy, options, context}:
    as it would serve now, having learned from these same logs, so it leans
    optimistic) or ``{"policy": "fixed", "creative_id": ...}``."""
    if reward not in ("click", "conversion"):
        raise InvalidCandidate("reward is click or conversion", details={"reward": reward})
    if not isinstance(candidate, Mapping):
        raise InvalidCandidate("a candidate is an object: {policy, options, context}")
    rows = placement_creatives(service.sessions, project, campaign, placement)
    ids = [r.creative_id for r in rows]
    ready = [r for r in rows if r.status == "ready"]
    config = None
    if candidate.get("policy") == "fixed":
        if set(candidate) - {"policy", "creative_id"} or candidate.get("creative_id") not in \
                {r.creative_id for r in ready}:
            raise InvalidCandidate("a fixed candidate names one ready creative: "
                                   "{policy: fixed, creative_id}")
    else:
        try:
            config = PolicyConfig.of(candidate)
        except InvalidPolicy as exc:
            raise InvalidCandidate(exc.message, details=exc.details) from None
        if not ready:
            raise InvalidCandidate("a policy serves ready creatives: the placement has none")
    found = [r for r in logged(service.sessions, project, ids) if r[2] is not None]
    if not found:
        raise NotFound("no logged impressions with propensities at this placement yet",
                       code="no_logs", details={"campaign": campaign, "placement": placement})
    grid = Grid.of({"creative": ids})
    rewards = np.array([float(r[3] if reward == "click" else r[4]) for r in found])
    contexts = None
    if config is None:
        probs = np.array([1.0 if i == candidate["creative_id"] else 0.0 for i in ids])
    else:
        if config.context is not None:
            contexts = tuple(decode_context(config, r[1]) for r in found)
            if any(c is None for c in contexts):
                raise InvalidCandidate("a contextual candidate needs logs served under the same "
                                       "context space (their request ids carry the context)")
        probs = _candidate_probabilities(config, ready, ids, found, rewards, contexts, reward)
    logs = DecisionLog(tuple(r[0] for r in found), np.array([r[2] for r in found]), rewards,
                       contexts)
    try:
        values = off_policy(logs, probs, grid=grid, alpha=alpha)
    except InvalidLogs as exc:
        raise InvalidCandidate(exc.message) from None
    return {"impressions": len(found), "reward": reward,
            "logged": float(rewards.mean()),
            "estimates": {name: {"value": v.value, "interval": [v.ci_low, v.ci_high]}
                          for name, v in values.items()}}


def _candidate_probabilities(config: PolicyConfig, ready: list[CreativeRow], ids: list[str],
                             found: list[tuple], rewards: np.ndarray,
                             contexts: tuple | None, reward: str) -> np.ndarray:
    """The candidate's chance of each creative (one row per logged answer if contextual),
    having learned from the logged answers of ready creatives."""
    arms = tuple(Arm(r.creative_id, r.asset_id, factors_of(r), None) for r in ready)
    if config.policy == "mvt":
        grid, combos = mvt_grid(arms)
        names = {a.creative_id: grid.ids[c] for a, c in zip(arms, combos, strict=True)}
    else:
        grid = Grid.of({"creative": [a.creative_id for a in arms]})
        names = {a.creative_id: a.creative_id for a in arms}
    selector = Selector(grid, config.policy, context=config.space, reward=reward, seed=0,
                        **config.options)
    keep = [i for i, r in enumerate(found) if r[0] in names]
    if keep:
        selector.learn(Outcomes(tuple(names[found[i][0]] for i in keep),
                                np.ones(len(keep), np.int64),
                                rewards[keep].astype(np.int64), rewards[keep].astype(np.int64),
                                tuple(contexts[i] for i in keep) if contexts else None))
    column = [ids.index(a.creative_id) for a in arms]
    if config.policy == "mvt":
        own = mvt_probabilities(selector, combos)
    elif contexts is not None:
        out = np.zeros((len(found), len(ids)))
        out[:, column] = per_context(selector, contexts)
        return out
    else:
        own = selector.probabilities()
    out = np.zeros(len(ids))
    out[column] = own
    return out
