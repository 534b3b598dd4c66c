"""Answering from the promoted recommender, or the one a surface experiment's
variant names (decisions 028 and 031); the versions themselves live in
``artefacts``."""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
from sqlalchemy import and_, or_, select

from vitrina.errors import NotFound, VitrinaError
from vitrina.ids import new_id
from vitrina.recs.artefacts import Artefact, Manifest, ModelStore, NoModel, beats_incumbent
from vitrina.recs.data import EVENT_WEIGHTS
from vitrina.recs.policy import Options, shape
from vitrina.recs.surfaces import BadVariant, Choice, Surfaces
from vitrina.storage.catalog.experiments import EventRow
from vitrina.storage.catalog.items import ItemRow

log = logging.getLogger(__name__)

MAX_K = 100
#: the most recent events of a user read at serving time (exclusions and fold-in)
HISTORY = 200


@dataclass
class Recommendation:
    user: str
    items: list[dict[str, Any]]
    model: str
    version: int
    fallback: str | None
    request_id: str = ""
    surface: str | None = None
    experiment: str | None = None
    variant: str | None = None
    #: the probability of ``variant`` for a user in the experiment (None: no variant)
    propensity: float | None = None


@dataclass
class _Cached:
    pointer: tuple[str, int] | None
    checked: float
    artefact: Artefact | None = None


@dataclass
class RecsService:
    """Answers from each project's promoted model, or the model a surface experiment's
    variant names, each loaded once and swapped when its promotion or latest version
    changes (looked at every ``reload_seconds`` at most)."""

    store: ModelStore
    sessions: Any
    reload_seconds: float = 5.0
    budget_seconds: float = 0.5
    surfaces: Surfaces | None = None
    _cache: dict[tuple[str, str | None, int | None], _Cached] = field(default_factory=dict)
    _inactive_cache: dict[str, tuple[float, frozenset[str]]] = field(default_factory=dict)
    _verdicts: dict[tuple[str, str, int], tuple[float, bool]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _pool: ThreadPoolExecutor = field(default_factory=lambda: ThreadPoolExecutor(2, "recs"))
    _refresher: ThreadPoolExecutor = field(default_factory=lambda: ThreadPoolExecutor(1, "recs-refresh"))
    _refreshing: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        if self.surfaces is None:
            self.surfaces = Surfaces(self.sessions, self.reload_seconds)

    @classmethod
    def of(cls, runtime: Any) -> RecsService:
        service = getattr(runtime, "_recs_service", None)
        if service is None:
            service = runtime._recs_service = cls(ModelStore(runtime.store), runtime.sessions)
        return service

    def close(self) -> None:
        """Stop the scoring threads (a call over its budget is not waited for)."""
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._refresher.shutdown(wait=False, cancel_futures=True)

    def _pointer(self, project: str, model: str | None, version: int | None) -> tuple[str, int] | None:
        if model is None:
            return self.store.serving(project)
        if version is not None:
            return model, version
        versions = self.store.versions(project, model)
        return (model, versions[-1]) if versions else None

    def artefact(self, project: str, model: str | None = None, version: int | None = None) -> Artefact:
        """The promoted model (``model`` None) or ``model``'s ``version`` (None: latest)."""
        name = (project, model, version)
        now = time.monotonic()
        cached = self._cache.get(name)
        if cached is None or now - cached.checked >= self.reload_seconds:
            pointer = self._pointer(project, model, version)
            if cached is None or pointer != cached.pointer or cached.artefact is None:
                try:
                    artefact = self.store.load(project, *pointer) if pointer else None
                except Exception:
                    if cached is None or cached.artefact is None:
                        raise
                    # keep answering from the version loaded before
                    log.exception("recommender %s v%s unloadable; still serving %s v%s",
                                  *pointer, cached.artefact.manifest.model,
                                  cached.artefact.manifest.version)
                    artefact, pointer = cached.artefact, cached.pointer
                cached = _Cached(pointer, now, artefact)
            else:
                cached.checked = now
            with self._lock:
                self._cache[name] = cached
        if cached.artefact is None:
            if model is not None:
                raise NoModel(f"no trained version of {model!r} in this project",
                              details={"model": model})
            raise NoModel("no recommender is promoted in this project: "
                          "run `vitrina recs train` and `vitrina recs promote`")
        return cached.artefact

    def history(self, project: str, user: str) -> list[tuple[str, str]]:
        """The user's latest ``HISTORY`` events that name an item, oldest first."""
        with self.sessions() as s:
            return list(reversed(s.execute(history_query(project, user)).all()))

    def read_inactive(self, project: str) -> frozenset[str]:
        """Read the items outside their active window now (and keep them)."""
        at = datetime.now(UTC)
        started = or_(ItemRow.active_from.is_(None), ItemRow.active_from <= at)
        running = or_(ItemRow.active_until.is_(None), ItemRow.active_until > at)
        query = select(ItemRow.item_id).where(ItemRow.project_id == project,
                                              ~and_(started, running))
        with self.sessions() as s:
            found = frozenset(s.scalars(query).all())
        self._inactive_cache[project] = (time.monotonic(), found)
        return found

    def inactive(self, project: str) -> frozenset[str]:
        """Items outside their active window. Read on a project's first request, then
        re-read in the background every ``reload_seconds`` (a scan of the items: no
        request waits for it)."""
        cached = self._inactive_cache.get(project)
        if cached is None:
            return self.read_inactive(project)
        if time.monotonic() - cached[0] >= self.reload_seconds:
            with self._lock:
                stale = project not in self._refreshing
                self._refreshing.add(project)
            if stale:
                self._refresher.submit(self._refresh_inactive, project)
        return cached[1]

    def _refresh_inactive(self, project: str) -> None:
        try:
            self.read_inactive(project)
        except Exception:  # the old set serves until the next try
            log.exception("inactive items of %s unreadable", project)
        finally:
            with self._lock:
                self._refreshing.discard(project)

    def _age_days(self, project: str, item_ids: list[str]) -> np.ndarray:
        """Days since each item was published (``active_from``; NaN when undated)."""
        with self.sessions() as s:
            rows = dict(s.execute(select(ItemRow.item_id, ItemRow.active_from)
                                  .where(ItemRow.project_id == project,
                                         ItemRow.item_id.in_(item_ids))).all())
        now = datetime.now(UTC)
        return np.array([np.nan if rows.get(i) is None
                         else (now - _aware(rows[i])).total_seconds() / 86_400 for i in item_ids])

    def _beats(self, project: str, manifest: Manifest) -> bool:
        """Whether the version's stored verdict beats the incumbent, read again every
        ``reload_seconds`` at most (not on every request of its variant)."""
        name = (project, manifest.model, manifest.version)
        cached = self._verdicts.get(name)
        now = time.monotonic()
        if cached is None or now - cached[0] >= self.reload_seconds:
            cached = self._verdicts[name] = (now, beats_incumbent(self.store, project, manifest))
        return cached[1]

    def _choose(self, project: str, surface: str | None, user: str) -> tuple[Choice, Artefact, str | None]:
        """The variant serving ``user`` and its model; a variant that names no usable
        model is logged and the promoted model answers instead (``fallback``)."""
        try:
            choice = self.surfaces.choose(project, surface, user)
        except BadVariant as exc:
            log.error("surface %s: %s; serving the promoted model", surface, exc)
            return Choice(), self.artefact(project), "variant_invalid"
        if choice.model is None:
            return choice, self.artefact(project), None
        try:
            a = self.artefact(project, choice.model, choice.version)
            if a.manifest.llm and not self._beats(project, a.manifest):
                raise NoModel(f"{a.manifest.model} v{a.manifest.version} uses a language model and "
                              "has no verdict that beats the incumbent (`vitrina recs verdicts`)")
            return choice, a, None
        except VitrinaError as exc:
            log.error("surface %s variant %s: %s; serving the promoted model", surface,
                      choice.variant, exc.message)
            return Choice(), self.artefact(project), "variant_unavailable"

    def exclusions(self, project: str, a: Artefact, history: list[tuple[str, str]],
                   exclude_seen: bool) -> tuple[list[tuple[int, str]], np.ndarray, Any]:
        """The user's ``history`` in ``a``'s item indices, the indices no answer may hold
        (bought, seen when ``exclude_seen``, inactive) and them as a one-row mask."""
        from scipy import sparse

        known = [(a.item_index[i], e) for i, e in history if i in a.item_index]
        own = [i for i, e in known if e == "purchase" or (exclude_seen and EVENT_WEIGHTS.get(e, 0) > 0)]
        ex = np.union1d(np.asarray(own, dtype=np.int64), a.inactive_indices(self.inactive(project)))
        mask = sparse.csr_matrix((np.ones(len(ex)), ex, np.array([0, len(ex)])), shape=(1, len(a.item_ids)))
        return known, ex, mask

    def recommend(self, project: str, user: str, k: int, exclude_seen: bool = True,
                  surface: str | None = None, diversity: float | None = None,
                  freshness_days: float | None = None) -> Recommendation:
        """The ``k`` best items for ``user``; ``diversity`` and ``freshness_days``
        override the variant's (``policy.Options``)."""
        from vitrina.recs.models.base import top_k

        request_id = new_id()
        choice, a, fallback = self._choose(project, surface, user)
        options = choice.options
        if diversity is not None or freshness_days is not None:
            options = Options(options.diversity if diversity is None else diversity,
                              options.freshness_days if freshness_days is None else freshness_days,
                              options.explore)
        pool = options.pool(k)
        known, ex, mask = self.exclusions(project, a, self.history(project, user), exclude_seen)

        def ranked() -> tuple[np.ndarray, np.ndarray]:
            if user in a.user_index:
                idx, sc = a.model.recommend([a.user_index[user]], pool, exclude=mask)
                return idx[0], sc[0]
            positive = [(i, EVENT_WEIGHTS[e]) for i, e in known if EVENT_WEIGHTS.get(e, 0) > 0]
            if not positive or not a.model.supports_history:
                raise LookupError("no usable history")
            idx, sc = a.model.recommend_for_history([i for i, _ in positive], [w for _, w in positive],
                                                    k=pool + len(ex))
            keep = (idx >= 0) & ~np.isin(idx, ex)
            return idx[keep][:pool], sc[keep][:pool]

        popular = True
        try:
            idx, sc = self._pool.submit(ranked).result(timeout=self.budget_seconds)
            popular = False
        except LookupError:
            pass
        except FutureTimeout:
            log.warning("recommender %s over its %.2f s budget: popularity", a.manifest.model,
                        self.budget_seconds)
        except Exception:  # a model's failure must not fail the answer
            log.exception("recommender %s failed: popularity", a.manifest.model)
        if popular:
            fallback = "popularity"
            pidx, psc = top_k(a.popularity[None, :], pool, mask)
            idx, sc = pidx[0], psc[0]
        valid = idx >= 0
        idx, sc = idx[valid], sc[valid]
        idx, sc, propensity = shape(
            idx, sc, k, options,
            age_days=lambda items: self._age_days(project, [a.item_ids[int(i)] for i in items]),
            similarity=lambda items: _similarity(a.model, items),
            rng=np.random.default_rng(int.from_bytes(hashlib.blake2b(request_id.encode(),
                                                                      digest_size=8).digest())))
        items = [{"item_id": a.item_ids[int(i)], "score": float(s), "position": p,
                  "propensity": float(q)}
                 for p, (i, s, q) in enumerate(zip(idx, sc, propensity, strict=True))]
        self.surfaces.expose(project, choice, user)
        return Recommendation(user, items, a.manifest.model, a.manifest.version, fallback,
                              request_id, surface, choice.experiment, choice.variant,
                              choice.propensity if choice.variant else None)

    def similar(self, project: str, item_id: str, k: int) -> Recommendation:
        a = self.artefact(project)
        if item_id not in a.item_index:
            raise NotFound(f"no item {item_id!r} in the promoted model",
                           details={"item_id": item_id[:200]})
        idx, sc = a.model.similar_items([a.item_index[item_id]], k)
        items = [{"item_id": a.item_ids[int(i)], "score": float(s), "position": p}
                 for p, (i, s) in enumerate((i, s) for i, s in zip(idx[0], sc[0], strict=True)
                                            if i >= 0)]
        return Recommendation(item_id, items, a.manifest.model, a.manifest.version, None)


def history_query(project: str, user: str) -> Any:
    """The user's latest ``HISTORY`` events that name an item, newest first."""
    return (select(EventRow.item_id, EventRow.event)
            .where(EventRow.project_id == project, EventRow.unit_id == user,
                   EventRow.item_id.is_not(None))
            .order_by(EventRow.seq.desc()).limit(HISTORY))


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo else at.replace(tzinfo=UTC)  # SQLite hands back naive UTC


def _similarity(model: Any, items: np.ndarray) -> np.ndarray | None:
    """Item-item similarity among ``items`` by the model (None when it has none)."""
    try:
        return np.asarray(model.item_scores(np.asarray(items, dtype=np.int64)))[:, items]
    except NotImplementedError:
        return None
