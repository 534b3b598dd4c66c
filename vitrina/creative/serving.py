"""Serving a campaign's placement: which ready creative to show, learned from the event
log (decision 036, "Serving").

The arms of (project, campaign, placement) are its ``creatives`` rows with status
``ready``. The placement's policy (default ``thompson``) is a small JSON document in
the blob store (``creative/{project}/{campaign}/{placement}/policy.json``). Its state
is kept per process and rebuilt from the event log: events with ``model = "creative"``,
``variant`` = the creative id and the ``request_id`` of the answer; ``impression``
events are trials, ``click`` and ``purchase`` events with the same request id the
outcomes. Each project's log is read forward from the last ``seq`` seen, off the
request path, at most every ``refresh_seconds`` (``vitrina.creative.learning``); a
request only reads a snapshot.

The per-arm counts (per context for the contextual policy) are the whole likelihood of
every policy here, so the selector is refitted from them on each refresh: a click
logged after its impression's batch counts as if it came with it.

A contextual answer's request id carries the context (``{id}.{space tag}{codes}``: two
base-36 characters per feature of the policy's context space), so the log alone
rebuilds the contextual state in any process.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sqlalchemy import func, select

from vitrina.creative.learning import EventLog
from vitrina.creative.policies import (
    InvalidPolicy,
    PolicyConfig,
    PolicyStore,
    check_context,
    check_name,
    decode_context,
    encode_context,
)
from vitrina.creative.selection import Grid, Selector
from vitrina.errors import NotFound, VitrinaError
from vitrina.ids import new_id
from vitrina.storage.blobs import BlobStore
from vitrina.storage.catalog.creative import CreativeRow

log = logging.getLogger(__name__)

class NoCreatives(NotFound):
    code = "no_creatives"


# -- snapshots of a placement -------------------------------------------------------------

@dataclass(frozen=True)
class Arm:
    creative_id: str
    asset_id: str | None
    factors: dict[str, str]
    url: str | None


@dataclass
class Snapshot:
    arms: tuple[Arm, ...]
    config: PolicyConfig
    built: float
    #: the policy's probabilities (None: contextual, per request; or failed)
    probs: np.ndarray | None = None
    selector: Selector | None = None
    #: why the policy cannot answer (the uniform split does, saying so)
    failed: str | None = None
    by_context: dict[str, np.ndarray] = field(default_factory=dict)

    def probabilities(self, context: Mapping[str, str]) -> np.ndarray:
        if self.probs is not None:
            return self.probs
        if self.selector is None:
            raise RuntimeError(self.failed or "no policy")
        code = encode_context(self.config, context)
        found = self.by_context.get(code)
        if found is None:
            space = dict(self.config.context or {})
            found = self.selector.probabilities({k: v for k, v in context.items() if k in space})
            if len(self.by_context) < 4096:
                self.by_context[code] = found
        return found


@dataclass(frozen=True)
class Selected:
    creative_id: str
    asset_id: str | None
    url: str | None
    factors: dict[str, str]
    policy: str
    propensity: float
    request_id: str
    fallback: str | None


def _ready(sessions: Any, project: str, campaign: str, placement: str) -> list[CreativeRow]:
    with sessions() as s:
        rows = s.scalars(select(CreativeRow).where(
            CreativeRow.project_id == project, CreativeRow.campaign == campaign,
            CreativeRow.placement == placement, CreativeRow.status == "ready")
            .order_by(CreativeRow.creative_id)).all()
        if rows:
            return list(rows)
        known = s.scalar(select(func.count()).select_from(CreativeRow).where(
            CreativeRow.project_id == project, CreativeRow.campaign == campaign,
            CreativeRow.placement == placement))
    what = "no ready creative" if known else "no creatives"
    raise NoCreatives(f"{what} for campaign {campaign!r} at placement {placement!r}",
                      details={"campaign": campaign, "placement": placement})


def factors_of(row: CreativeRow) -> dict[str, str]:
    factors = (row.variant or {}).get("factors") if isinstance(row.variant, dict) else None
    if not isinstance(factors, dict):
        return {}
    return {str(k): str(v) for k, v in factors.items()}


def mvt_grid(arms: tuple[Arm, ...]) -> tuple[Grid, np.ndarray]:
    """The grid of the arms' factors, and each arm's combination in it. Every arm must
    name the same factors; combinations without an arm are never served."""
    names = sorted(arms[0].factors)
    if not names or any(sorted(a.factors) != names for a in arms):
        raise InvalidPolicy("mvt needs every ready creative to name the same factors")
    grid = Grid.of({n: sorted({a.factors[n] for a in arms}) for n in names})
    return grid, np.array([grid.index("|".join(a.factors[n] for n in names)) for a in arms])


class SelectionService:
    """Answers for each placement from a snapshot of its arms and policy, refreshed in
    the background; a cold placement waits at most ``budget_seconds`` for its first."""

    def __init__(self, sessions: Any, blobs: BlobStore, signer_for: Any,
                 refresh_seconds: float = 5.0, budget_seconds: float = 0.05) -> None:
        self.sessions, self.policies, self.signer_for = sessions, PolicyStore(blobs), signer_for
        self.refresh_seconds, self.budget_seconds = refresh_seconds, budget_seconds
        self.log = EventLog(sessions)
        self._snapshots: dict[tuple[str, str, str], Snapshot] = {}
        self._refreshing: set[tuple[str, str, str]] = set()
        self._cold: dict[tuple[str, str, str], Future] = {}
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(2, "creative-refresh")

    @classmethod
    def of(cls, runtime: Any) -> SelectionService:
        service = getattr(runtime, "_creative_selection", None)
        if service is None:
            service = runtime._creative_selection = cls(
                runtime.sessions, runtime.store, _signers(runtime))
        return service

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    def build(self, project: str, campaign: str, placement: str) -> Snapshot:
        rows = _ready(self.sessions, project, campaign, placement)
        signer = self.signer_for(project)
        arms = tuple(Arm(r.creative_id, r.asset_id, factors_of(r),
                         _url(signer, r.asset_id)) for r in rows)
        config = self.policies.get(project, campaign, placement)
        snapshot = Snapshot(arms, config, time.monotonic())
        try:
            state = self.log.catch_up(project)
            if config.policy == "mvt":
                grid, combos = mvt_grid(arms)
                names = [grid.ids[i] for i in combos]
            else:
                grid = Grid.of({"creative": [a.creative_id for a in arms]})
                names = [a.creative_id for a in arms]
            selector = config.selector(grid)
            decode = None if config.context is None else \
                (lambda code: decode_context(config, f"x.{code}"))
            outcomes = state.outcomes([a.creative_id for a in arms], names, decode)
            if outcomes is not None:
                selector.learn(outcomes)
            if config.policy == "mvt":
                snapshot.probs = mvt_probabilities(selector, combos)
            elif config.policy == "contextual":
                snapshot.selector = selector
            else:
                snapshot.probs = selector.probabilities()
        except Exception as exc:  # the uniform split answers meanwhile
            log.exception("placement %s/%s: policy %s failed", campaign, placement, config.policy)
            snapshot.failed = f"{type(exc).__name__}: {exc}"[:200]
        return snapshot

    def refresh(self, project: str, campaign: str, placement: str) -> Snapshot:
        """Rebuild the placement's snapshot now (the background refresh does this)."""
        key = (project, campaign, placement)
        try:
            snapshot = self.build(*key)
            self._snapshots[key] = snapshot
            return snapshot
        except NoCreatives:
            self._snapshots.pop(key, None)
            raise
        finally:
            with self._lock:
                self._refreshing.discard(key)

    def _background(self, key: tuple[str, str, str]) -> None:
        try:
            self.refresh(*key)
        except Exception:  # the old snapshot serves until the next try
            log.debug("placement %s refresh failed", key, exc_info=True)

    def is_warm(self, project: str, campaign: str, placement: str) -> bool:
        """Whether an answer needs no catalog read (the placement's snapshot is here)."""
        return (project, campaign, placement) in self._snapshots

    def snapshot(self, project: str, campaign: str, placement: str) -> Snapshot:
        key = (project, check_name("campaign", campaign), check_name("placement", placement))
        found = self._snapshots.get(key)
        if found is not None:
            if time.monotonic() - found.built >= self.refresh_seconds:
                with self._lock:
                    start = key not in self._refreshing
                    self._refreshing.add(key)
                if start:
                    self._pool.submit(self._background, key)
            return found
        with self._lock:  # the requests of a cold placement wait on one build
            future = self._cold.get(key)
            if future is None or future.done():
                future = self._cold[key] = self._pool.submit(self.refresh, *key)
                future.add_done_callback(lambda f, key=key: self._cold.pop(key, None))
        try:
            return future.result(timeout=self.budget_seconds)
        except FutureTimeout:  # it goes on in the background; the uniform split answers now
            rows = _ready(self.sessions, project, campaign, placement)
            signer = self.signer_for(project)
            return Snapshot(tuple(Arm(r.creative_id, r.asset_id, factors_of(r), _url(signer, r.asset_id))
                                  for r in rows), PolicyConfig(), 0.0, failed="over budget")

    # -- serving --------------------------------------------------------------------------

    def probabilities(self, project: str, campaign: str, placement: str,
                      context: Mapping[str, str] | None = None) -> dict[str, float]:
        """Each ready creative's chance of being served to this context."""
        context = check_context(context or {})
        snap = self.snapshot(project, campaign, placement)
        if snap.failed is not None:
            return {a.creative_id: 1 / len(snap.arms) for a in snap.arms}
        probs = snap.probabilities(context)
        return {a.creative_id: float(p) for a, p in zip(snap.arms, probs, strict=True)}

    def select(self, project: str, campaign: str, placement: str,
               context: Mapping[str, str] | None = None) -> Selected:
        context = check_context(context or {})
        snap = self.snapshot(project, campaign, placement)
        request_id = new_id()
        if snap.config.context is not None:
            request_id += "." + encode_context(snap.config, context)
        # the draw follows from the request id (a logged answer can be replayed)
        u = int.from_bytes(hashlib.blake2b(request_id.encode(), digest_size=8).digest()) / 2 ** 64
        fallback, policy = None, snap.config.policy
        probs = None
        if snap.failed is None:
            try:
                probs = snap.probabilities(context)
            except Exception:  # a policy's failure must not fail the answer
                log.exception("placement %s/%s: %s failed", campaign, placement, policy)
        if probs is None:
            fallback, policy = "uniform", "uniform"
            probs = np.full(len(snap.arms), 1 / len(snap.arms))
        cumulative = np.cumsum(probs)
        i = min(int(np.searchsorted(cumulative, u * cumulative[-1], side="right")),
                len(snap.arms) - 1)
        arm = snap.arms[i]
        return Selected(arm.creative_id, arm.asset_id, arm.url, dict(arm.factors), policy,
                        float(probs[i]), request_id, fallback)

    def policy(self, project: str, campaign: str, placement: str) -> PolicyConfig:
        placement_creatives(self.sessions, project, campaign, placement)
        return self.policies.get(project, campaign, placement)

    def set_policy(self, project: str, campaign: str, placement: str, data: Any) -> PolicyConfig:
        """Set the policy of a placement that has creatives (ready or not)."""
        placement_creatives(self.sessions, project, campaign, placement)
        config = self.policies.put(project, campaign, placement, data)
        self._snapshots.pop((project, campaign, placement), None)
        return config


def mvt_probabilities(selector: Selector, combos: np.ndarray) -> np.ndarray:
    """Thompson over the combinations that have an arm: each posterior draw's best
    among them; arms sharing a combination split its chance."""
    policy = selector.policy
    rng = np.random.default_rng([0, int(policy.trials.sum())])
    weights = policy.sample_weights(policy.draws, rng)
    available = np.unique(combos)
    winners = available[np.argmax(weights @ policy.x[available].T, axis=1)]
    share = np.bincount(winners, minlength=len(policy.arms)) / len(winners)
    per_combo = np.bincount(combos, minlength=len(policy.arms))
    return share[combos] / per_combo[combos]


def _url(signer: Any, asset_id: str | None) -> str | None:
    if signer is None or asset_id is None:
        return None
    try:
        return signer.url(asset_id, "")
    except VitrinaError:
        return None


def _signers(runtime: Any) -> Any:
    """The project's URL signer (None without a key: the answer has no URL)."""
    from vitrina.delivery.configured import signer_for_project

    return lambda project: signer_for_project(runtime.settings, runtime.projects, project)


def placement_creatives(sessions: Any, project: str, campaign: str, placement: str) -> list[CreativeRow]:
    """Every creative of the placement (rejected ones may have been served before)."""
    check_name("campaign", campaign), check_name("placement", placement)
    with sessions() as s:
        rows = list(s.scalars(select(CreativeRow).where(
            CreativeRow.project_id == project, CreativeRow.campaign == campaign,
            CreativeRow.placement == placement).order_by(CreativeRow.creative_id)).all())
    if not rows:
        raise NoCreatives(f"no creatives for campaign {campaign!r} at placement {placement!r}",
                          details={"campaign": campaign, "placement": placement})
    return rows
