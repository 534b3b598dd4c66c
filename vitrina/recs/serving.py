"""Trained recommenders in the blob store, and answering from the promoted one
(decision 028, "Training and serving").

Layout for a project's model ``name``::

    recs/{project}/{name}/v{n}/model.npz      the fitted model (``Recommender.save``)
    recs/{project}/{name}/v{n}/maps.npz       user ids, item ids, popularity scores
    recs/{project}/{name}/v{n}/manifest.json  name, version, metrics, trained_at, counts
    recs/{project}/serving.json               the promoted {"model", "version"}

A version's bytes are written first and its manifest last, so a version without a
manifest is incomplete and never listed, promoted or served.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import re
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
from sqlalchemy import and_, or_, select

from vitrina.errors import InvalidInput, NotFound, VitrinaError
from vitrina.ids import new_id
from vitrina.recs.data import EVENT_WEIGHTS, EVENTS, Interactions
from vitrina.recs.policy import Options, shape
from vitrina.recs.surfaces import BadVariant, Choice, Surfaces
from vitrina.storage.blobs import BlobStore, validate_key
from vitrina.storage.catalog.experiments import EventRow
from vitrina.storage.catalog.items import ItemRow

log = logging.getLogger(__name__)

MANIFEST_FORMAT = 1
#: the least a training run accepts: positive interactions, users, items
MIN_INTERACTIONS, MIN_USERS, MIN_ITEMS = 20, 3, 3
#: the models `vitrina recs train` fits when none are named (content and hybrid need
#: vectors or components)
DEFAULT_MODELS = ("popularity", "covisitation", "item-knn", "ease", "als", "bpr")
#: the models that read item content vectors (``Interactions.item_vectors``)
CONTENT_MODELS = frozenset({"content", "hybrid"})
MAX_K = 100
#: the most recent events of a user read at serving time (exclusions and fold-in)
HISTORY = 200
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")


class TooFewInteractions(VitrinaError):
    status, code = 422, "too_few_interactions"


class NoModel(NotFound):
    code = "no_model"


class NeedsExperiment(VitrinaError):
    status, code = 409, "needs_experiment"


@dataclass(frozen=True)
class Manifest:
    model: str
    version: int
    metrics: dict[str, float]
    trained_at: str
    counts: dict[str, int]
    split: str
    model_sha256: str
    format: int = MANIFEST_FORMAT
    #: the text generator behind any LLM-written feature the model was trained on
    #: ({"provider", "model"}); such a model serves only through a surface experiment,
    #: after its verdicts beat the incumbent (decision 030)
    llm: dict[str, str] | None = None


def _check(label: str, value: str) -> str:
    if not isinstance(value, str) or _NAME.fullmatch(value) is None:
        raise InvalidInput(f"A {label} here is 1-128 letters, digits, '.', '_' or '-'.",
                           details={label: repr(value)[:100]})
    return value


class ModelStore:
    """Versions of a project's trained models and which one serves."""

    def __init__(self, blobs: BlobStore) -> None:
        self.blobs = blobs

    @staticmethod
    def prefix(project: str, model: str | None = None) -> str:
        key = f"recs/{_check('project', project)}"
        if model is not None:
            key += f"/{_check('model name', model)}"
        return validate_key(key) + "/"

    def versions(self, project: str, model: str) -> list[int]:
        """Complete versions (with a manifest), oldest first."""
        found = set()
        prefix = self.prefix(project, model)
        for key in self.blobs.keys(prefix):
            part = key[len(prefix):].split("/")
            if len(part) == 2 and part[1] == "manifest.json" and part[0][1:].isdigit():
                found.add(int(part[0][1:]))
        return sorted(found)

    def models(self, project: str) -> list[str]:
        prefix = self.prefix(project)
        return sorted({k[len(prefix):].split("/")[0] for k in self.blobs.keys(prefix)
                       if k.endswith("/manifest.json")})

    def manifest(self, project: str, model: str, version: int) -> Manifest | None:
        key = f"{self.prefix(project, model)}v{version}/manifest.json"
        if not self.blobs.exists(key):
            return None
        try:
            return Manifest(**json.loads(self.blobs.read_bytes(key)))
        except (ValueError, TypeError, VitrinaError) as exc:
            log.warning("recommender manifest %s unreadable: %s", key, exc)
            return None

    def save(self, project: str, model: Any, maps: dict[str, np.ndarray],
             metrics: dict[str, float], counts: dict[str, int], split: str,
             llm: dict[str, str] | None = None) -> Manifest:
        """The next version of ``model``: its bytes and maps first, the manifest last."""
        prefix = self.prefix(project, model.name)
        existing = [int(k[len(prefix) + 1:].split("/")[0]) for k in self.blobs.keys(prefix + "v")
                    if k[len(prefix) + 1:].split("/")[0].isdigit()]
        version = max(existing, default=0) + 1
        data = model.save()
        buf = io.BytesIO()
        np.savez(buf, **maps)
        manifest = Manifest(model=model.name, version=version,
                            metrics={k: float(v) for k, v in metrics.items()},
                            trained_at=datetime.now(UTC).isoformat(timespec="seconds"),
                            counts=counts, split=split,
                            model_sha256=hashlib.sha256(data).hexdigest(), llm=llm)
        self.blobs.put_bytes(f"{prefix}v{version}/model.npz", data, durable=False)
        self.blobs.put_bytes(f"{prefix}v{version}/maps.npz", buf.getvalue(), durable=False)
        self.blobs.put_bytes(f"{prefix}v{version}/manifest.json",
                             json.dumps(asdict(manifest)).encode(), durable=False)
        return manifest

    def promote(self, project: str, model: str, version: int | None = None) -> Manifest:
        versions = self.versions(project, model)
        if not versions:
            raise NotFound(f"no trained version of {model!r} in this project",
                           details={"model": model})
        version = versions[-1] if version is None else version
        manifest = self.manifest(project, model, version)
        if manifest is None:
            raise NotFound(f"{model!r} has no version {version}; versions: {versions}",
                           details={"model": model, "version": version})
        if manifest.llm:
            raise NeedsExperiment(
                f"{model} v{version} was trained on text from a language model "
                f"({manifest.llm.get('provider')}/{manifest.llm.get('model')}): it is served only "
                "as a variant of a surface experiment, once `vitrina recs verdicts` finds it beats "
                "the incumbent", details={"model": model, "version": version})
        self.blobs.put_bytes(f"{self.prefix(project)}serving.json",
                             json.dumps({"model": model, "version": version}).encode())
        return manifest

    def serving(self, project: str) -> tuple[str, int] | None:
        key = f"{self.prefix(project)}serving.json"
        if not self.blobs.exists(key):
            return None
        try:
            data = json.loads(self.blobs.read_bytes(key))
            return str(data["model"]), int(data["version"])
        except (ValueError, KeyError, TypeError, VitrinaError):
            return None

    def load(self, project: str, model: str, version: int) -> Artefact:
        from vitrina.recs.models import load_model

        manifest = self.manifest(project, model, version)
        if manifest is None:
            raise NoModel(f"the promoted {model} v{version} is missing")
        base = f"{self.prefix(project, model)}v{version}/"
        data = self.blobs.read_bytes(base + "model.npz")
        if hashlib.sha256(data).hexdigest() != manifest.model_sha256:
            raise NoModel(f"the promoted {model} v{version} does not match its manifest")
        with np.load(io.BytesIO(self.blobs.read_bytes(base + "maps.npz")), allow_pickle=False) as z:
            maps = {k: z[k] for k in z.files}
        user_ids = [str(u) for u in maps["user_ids"]]
        item_ids = [str(i) for i in maps["item_ids"]]
        return Artefact(manifest, load_model(data), user_ids, item_ids,
                        {u: n for n, u in enumerate(user_ids)},
                        {i: n for n, i in enumerate(item_ids)},
                        maps["popularity"].astype(np.float64))


@dataclass
class Artefact:
    manifest: Manifest
    model: Any
    user_ids: list[str]
    item_ids: list[str]
    user_index: dict[str, int]
    item_index: dict[str, int]
    popularity: np.ndarray
    #: the inactive set last seen and its item indices in this model
    inactive: tuple[frozenset[str], np.ndarray] | None = None

    def inactive_indices(self, ids: frozenset[str]) -> np.ndarray:
        if self.inactive is None or self.inactive[0] is not ids:
            idx = np.fromiter((self.item_index[i] for i in ids if i in self.item_index), np.int64)
            self.inactive = (ids, np.unique(idx))
        return self.inactive[1]


# -- training ------------------------------------------------------------------------

def read_interactions(sessions: Any, project: str) -> Interactions:
    """The project's events that name an item, as interactions."""
    query = (select(EventRow.unit_id, EventRow.item_id, EventRow.event, EventRow.value,
                    EventRow.timestamp, EventRow.session_id)
             .where(EventRow.project_id == project, EventRow.item_id.is_not(None),
                    EventRow.event.in_(EVENTS))
             .order_by(EventRow.seq))
    with sessions() as s:
        rows = s.execute(query).all()
    cols = list(zip(*rows, strict=True)) if rows else [[] for _ in range(6)]
    table = dict(zip(("user_id", "item_id", "event", "value", "ts", "session_id"), cols, strict=True))
    return Interactions.from_table({k: list(v) for k, v in table.items()})


def check_enough(data: Interactions) -> None:
    positive = int((data.weights > 0).sum())
    if positive < MIN_INTERACTIONS or data.n_users < MIN_USERS or data.n_items < MIN_ITEMS:
        raise TooFewInteractions(
            f"too few interactions to train: {positive} positive events from {data.n_users} users "
            f"on {data.n_items} items; at least {MIN_INTERACTIONS} events, {MIN_USERS} users and "
            f"{MIN_ITEMS} items are needed",
            details={"interactions": positive, "users": data.n_users, "items": data.n_items})


@dataclass
class Trained:
    results: list[Any]
    best: str
    manifest: Manifest


def train(registries: Any, store: ModelStore, project: str, data: Interactions,
          names: Sequence[str], split: str = "temporal", k: int = 10, save: str | None = None,
          wrap: Callable[[Sequence[Any]], Any] = lambda xs: xs,
          llm: dict[str, str] | None = None) -> Trained:
    """Fit and evaluate ``names`` on one split, refit ``save`` (default: the best by
    NDCG@k) on all of ``data`` and store it as the next version."""
    from vitrina.recs import evaluation
    from vitrina.recs.models.popularity import Popularity

    check_enough(data)
    for name in [*names, *([save] if save else [])]:
        if registries.recommenders.find(name) is None:
            raise InvalidInput(f"no recommender {name!r}; registered: "
                               f"{', '.join(c.name for c in registries.recommenders)}")
    cut = evaluation.temporal_split(data) if split == "temporal" else evaluation.leave_last_out(data)
    if not cut.relevant():
        raise TooFewInteractions(f"the {split} split leaves no test user with a new positive item; "
                                 "log more interactions")
    models = [registries.recommenders.get(n)() for n in names]
    results = [evaluation.evaluate(m, cut, k=k) for m in wrap(models)]
    ndcg = f"ndcg@{k}"
    best = save or max(results, key=lambda r: np.nan_to_num(r.metrics.get(ndcg, 0.0), nan=-1)).model
    model = registries.recommenders.get(best)().fit(data)
    popularity = Popularity().fit(data).popularity
    metrics = next((r.metrics for r in results if r.model == best), {})
    maps = {"user_ids": np.asarray(data.user_ids, dtype=str),
            "item_ids": np.asarray(data.item_ids, dtype=str), "popularity": popularity}
    counts = {"interactions": len(data), "users": data.n_users, "items": data.n_items,
              "train": len(cut.train), "test": len(cut.test)}
    # only a model that reads the items' content carries what a language model wrote
    llm = llm if best in CONTENT_MODELS else None
    return Trained(results, best, store.save(project, model, maps, metrics, counts, split, llm))


# -- serving ---------------------------------------------------------------------------

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

    def _history(self, project: str, user: str) -> list[tuple[str, str]]:
        query = (select(EventRow.item_id, EventRow.event)
                 .where(EventRow.project_id == project, EventRow.unit_id == user,
                        EventRow.item_id.is_not(None))
                 .order_by(EventRow.seq.desc()).limit(HISTORY))
        with self.sessions() as s:
            return list(reversed(s.execute(query).all()))

    def _read_inactive(self, project: str) -> frozenset[str]:
        at = datetime.now(UTC)
        started = or_(ItemRow.active_from.is_(None), ItemRow.active_from <= at)
        running = or_(ItemRow.active_until.is_(None), ItemRow.active_until > at)
        query = select(ItemRow.item_id).where(ItemRow.project_id == project,
                                              ~and_(started, running))
        with self.sessions() as s:
            found = frozenset(s.scalars(query).all())
        self._inactive_cache[project] = (time.monotonic(), found)
        return found

    def _inactive(self, project: str) -> frozenset[str]:
        """Items outside their active window. Read on a project's first request, then
        re-read in the background every ``reload_seconds`` (a scan of the items: no
        request waits for it)."""
        cached = self._inactive_cache.get(project)
        if cached is None:
            return self._read_inactive(project)
        if time.monotonic() - cached[0] >= self.reload_seconds:
            with self._lock:
                stale = project not in self._refreshing
                self._refreshing.add(project)
            if stale:
                self._refresher.submit(self._refresh_inactive, project)
        return cached[1]

    def _refresh_inactive(self, project: str) -> None:
        try:
            self._read_inactive(project)
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
            if a.manifest.llm and not beats_incumbent(self.store, project, a.manifest):
                raise NoModel(f"{a.manifest.model} v{a.manifest.version} uses a language model and "
                              "has no verdict that beats the incumbent (`vitrina recs verdicts`)")
            return choice, a, None
        except VitrinaError as exc:
            log.error("surface %s variant %s: %s; serving the promoted model", surface,
                      choice.variant, exc.message)
            return Choice(), self.artefact(project), "variant_unavailable"

    def recommend(self, project: str, user: str, k: int, exclude_seen: bool = True,
                  surface: str | None = None, diversity: float | None = None,
                  freshness_days: float | None = None) -> Recommendation:
        """The ``k`` best items for ``user``; ``diversity`` and ``freshness_days``
        override the variant's (``policy.Options``)."""
        from scipy import sparse

        from vitrina.recs.models.base import top_k

        request_id = new_id()
        choice, a, fallback = self._choose(project, surface, user)
        options = choice.options
        if diversity is not None or freshness_days is not None:
            options = Options(options.diversity if diversity is None else diversity,
                              options.freshness_days if freshness_days is None else freshness_days,
                              options.explore)
        pool = options.pool(k)
        history = self._history(project, user)
        known = [(a.item_index[i], e) for i, e in history if i in a.item_index]
        own = [i for i, e in known if e == "purchase" or (exclude_seen and EVENT_WEIGHTS.get(e, 0) > 0)]
        ex = np.union1d(np.asarray(own, dtype=np.int64), a.inactive_indices(self._inactive(project)))
        mask = sparse.csr_matrix((np.ones(len(ex)), ex, np.array([0, len(ex)])), shape=(1, len(a.item_ids)))

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


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo else at.replace(tzinfo=UTC)  # SQLite hands back naive UTC


def _similarity(model: Any, items: np.ndarray) -> np.ndarray | None:
    """Item-item similarity among ``items`` by the model (None when it has none)."""
    try:
        return np.asarray(model.item_scores(np.asarray(items, dtype=np.int64)))[:, items]
    except NotImplementedError:
        return None


def beats_incumbent(store: ModelStore, project: str, manifest: Manifest) -> bool:
    """Whether the version's stored verdict (``verdict.json`` beside its manifest,
    written by `vitrina recs verdicts`) says it beat the incumbent."""
    key = f"{store.prefix(project, manifest.model)}v{manifest.version}/verdict.json"
    try:
        return store.blobs.exists(key) and json.loads(store.blobs.read_bytes(key)).get("beats_incumbent") is True
    except (ValueError, AttributeError, VitrinaError):
        return False
