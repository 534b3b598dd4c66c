"""Recommenders on demand (not part of `make test`): offline accuracy on MovieLens-100K,
then serving latency of `GET /v1/recommendations` from a real server.

**Leaderboard.** Every registered model is fitted on the same split (by default a
temporal split: train before the 80th percentile of the ratings' times, test after;
decision 028) and measured by the same code: NDCG@10, recall@10, MAP@10 over warm test
users, full ranking with training items excluded, then catalogue coverage, popularity
percentile, novelty, training time, and batched recommendations per second. Beside
them, implicit's own ALS and BPR run directly (the same parameters and split;
implicit's `recommend` with already-liked items filtered; the same metric code), so
our wrappers' ranking can be compared with the library's.

**Serving.** A project of --items items (default 100,000; 1% of them expired) and
synthetic interactions of --users users (clustered tastes, popular items skewed),
loaded through the item service and the event log's validation and writer (no HTTP);
ALS fitted on them over the whole catalogue, stored and promoted as `recs train` and
`recs promote` would; then `vitrina serve` (one process, loopback, SQLite catalog) is
asked --requests times `GET /v1/recommendations?user=...&k=20` one after another over
one keep-alive connection, 80% known users, 10% users unseen at fit time with fresh
events (fold-in) and 10% users without events (popularity fallback). It prints p50
and p99 per kind of user and overall, beside `GET /healthz` on the same connection
(the HTTP floor) and the server's own histograms from /metrics (the route's service
call, the whole app), then the server-side stages of an answer timed in-process
(history query, inactive-items query, exclusion mask, scoring, top-k, response JSON)
and, with --profile, cProfile's view of the service call. --max-seconds bounds the
timed requests when the server is slow; --keep DIR keeps the project for the next run.

The closing lines, in this order: `recs batch recommendations/s: N` (the best model,
every MovieLens user, batches of --batch-size), `recs best/implicit-als ndcg@10: N.NN`
(the best model's NDCG@10 over the direct implicit ALS's) and `recs p99 ms: N.N`
(the 99th percentile of all timed requests; omitted with --no-serving).

    .venv/bin/python bench/recs.py                       # ~6 minutes on 2 shared cores
    .venv/bin/python bench/recs.py --split leave-last-out --no-serving
    .venv/bin/python bench/recs.py --items 20000 --requests 2000 --profile
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from vitrina.recs.data import Interactions, movielens_100k, movielens_item_vectors
from vitrina.recs.evaluation import (
    Result,
    Split,
    evaluate,
    leaderboard,
    leave_last_out,
    temporal_split,
)
from vitrina.recs.models.base import top_k
from vitrina.testing import make_registries


class RandomScores:
    name = "random"

    def fit(self, data: Interactions) -> RandomScores:
        self.n_items = data.n_items
        return self

    def recommend(self, users, k, exclude=None):
        rng = np.random.default_rng(0)
        return top_k(rng.random((len(users), self.n_items)), k, exclude)


class DirectImplicit:
    """An implicit model fitted and asked directly (its own ``recommend`` and ranking,
    already-liked items filtered): the reference our wrappers are compared with."""

    def __init__(self, name: str, make) -> None:
        self.name, self.make = name, make

    def fit(self, data: Interactions) -> DirectImplicit:
        from threadpoolctl import threadpool_limits

        self.user_items = data.user_items.astype(np.float32).tocsr()
        with threadpool_limits(limits=1, user_api="blas"):  # implicit checks at creation
            self.model = self.make()
            self.model.fit(self.user_items, show_progress=False)
        return self

    def recommend(self, users, k, exclude=None):
        users = np.asarray(users)
        ids, scores = self.model.recommend(users, self.user_items[users], N=k,
                                           filter_already_liked_items=True)
        return np.atleast_2d(ids), np.atleast_2d(scores)


def direct_implicit(args: argparse.Namespace) -> list[DirectImplicit]:
    """implicit's ALS and BPR with our models' parameters, one thread each."""
    from implicit.cpu.als import AlternatingLeastSquares
    from implicit.cpu.bpr import BayesianPersonalizedRanking

    return [
        DirectImplicit("implicit-als", lambda: AlternatingLeastSquares(
            factors=args.factors, regularization=args.regularization, alpha=args.alpha,
            iterations=args.iterations, random_state=args.seed, num_threads=1, dtype=np.float32)),
        DirectImplicit("implicit-bpr", lambda: BayesianPersonalizedRanking(
            factors=args.factors, learning_rate=0.05, regularization=0.01, iterations=100,
            random_state=args.seed, num_threads=1, dtype=np.float32)),
    ]


def models(args: argparse.Namespace) -> list:
    from vitrina.recs.models.content import ContentBased
    from vitrina.recs.models.neighbours import EASE, ItemKNN
    from vitrina.recs.models.popularity import Popularity

    params = {
        "popularity": {"half_life_days": 30.0},
        "covisitation": {"window": 3, "recent": 5, "decay": 0.7},
        "item-knn": {"neighbours": 50, "shrink": 0.0},
        "ease": {"lam": 250.0},
        "als": {"factors": args.factors, "regularization": args.regularization, "alpha": args.alpha,
                "iterations": args.iterations, "seed": args.seed},
        "bpr": {"factors": args.factors, "iterations": 100, "seed": args.seed},
        "content": {},
    }
    out: list = [RandomScores()]
    for cls in make_registries().recommenders:
        if cls.name == "hybrid":
            out.append(cls([(EASE(), 1.0), (ItemKNN(), 0.5), (Popularity(), 0.3), (ContentBased(), 0.1)]))
        elif cls.name in params:
            out.append(cls(**params[cls.name]))
        else:
            print(f"(no bench parameters for {cls.name}: defaults)")
            out.append(cls())
    out.append(Popularity(half_life_days=None))
    out[-1].label = "popularity-all-time"
    return out


def batch_rate(model, split: Split, batch_size: int) -> float:
    users = np.arange(split.train.n_users)
    exclude = split.train.user_items
    started = time.perf_counter()
    for start in range(0, len(users), batch_size):
        batch = users[start:start + batch_size]
        model.recommend(batch, 10, exclude[batch])
    return len(users) / (time.perf_counter() - started)


def offline(args: argparse.Namespace) -> tuple[float, float]:
    """The MovieLens leaderboard; (best/implicit-als NDCG@10, best model's batch rate)."""
    data = Interactions.from_table(movielens_100k())
    data = data.with_item_vectors(movielens_item_vectors(data.item_ids))
    split = temporal_split(data, quantile=args.quantile) if args.split == "temporal" else leave_last_out(data)
    warm, cold = split.warm_and_cold()
    print(f"MovieLens-100K (ratings >= 4): {data.n_users} users, {data.n_items} items, {len(data)} rows")
    print(f"split {split.name}: {len(split.train)} train rows, {len(split.test)} test rows; "
          f"{len(warm)} warm test users, {len(cold)} cold")

    results: list[Result] = []
    rates: dict[str, float] = {}
    for model in [*models(args), *direct_implicit(args)]:
        label = getattr(model, "label", model.name)
        print(f"  fitting {label} ...", file=sys.stderr, flush=True)
        results.append(evaluate(model, split, batch_size=args.batch_size, label=label))
        rates[label] = batch_rate(model, split, args.batch_size)

    print()
    print(leaderboard(results))
    print()
    print(f"recommendations/s (every user, batches of {args.batch_size}):")
    for r in results:
        print(f"  {r.model:<22} {rates[r.model]:>10.0f}")
    if len(cold):
        print("cold test users (no training rows), ndcg@10 (a model with nothing to go on ties "
              "every item, so its figure is the item order's):")
        for r in results:
            print(f"  {r.model:<22} {r.metrics.get('cold_ndcg@10', float('nan')):.4f}")

    by = {r.model: r for r in results}
    ours = [r for r in results if not r.model.startswith("implicit-") and r.model != "random"]
    best = max(ours, key=lambda r: r.metrics["ndcg@10"])
    print()
    for mine, theirs in (("als", "implicit-als"), ("bpr", "implicit-bpr")):
        a, b = by[mine].metrics, by[theirs].metrics
        print(f"{mine} (ours) against {theirs}: ndcg@10 {a['ndcg@10']:.4f} / {b['ndcg@10']:.4f}, "
              f"recall@10 {a['recall@10']:.4f} / {b['recall@10']:.4f}, coverage "
              f"{a['coverage']:.4f} / {b['coverage']:.4f}, fit s {by[mine].fit_seconds:.2f} / "
              f"{by[theirs].fit_seconds:.2f}")
    print(f"best: {best.model} ndcg@10 {best.metrics['ndcg@10']:.4f}")
    return best.metrics["ndcg@10"] / by["implicit-als"].metrics["ndcg@10"], rates[best.model]


# -- serving ----------------------------------------------------------------------------

PROJECT = "default"  # the project a development-mode server answers for
CLUSTERS_ITEMS = 500  # items per taste cluster
KINDS = ("known", "fold-in", "unknown")
MIX = (0.8, 0.1, 0.1)


def synthetic_events(rng: np.random.Generator, n_items: int, users: list[str], mean_events: int,
                     start: float, end: float) -> list[dict]:
    """Each user mostly inside one taste cluster (skewed to its first items), sometimes
    on globally popular items (skewed to the catalogue's first items)."""
    clusters = max(1, n_items // CLUSTERS_ITEMS)
    out = []
    for user in users:
        n = int(rng.integers(max(2, mean_events // 4), mean_events * 7 // 4 + 1))
        base = int(rng.integers(clusters)) * CLUSTERS_ITEMS
        local = base + (CLUSTERS_ITEMS * rng.random(n) ** 3).astype(np.int64)
        popular = (n_items * rng.random(n) ** 4).astype(np.int64)
        items = np.where(rng.random(n) < 0.8, np.minimum(local, n_items - 1), popular)
        kinds = rng.choice(["click", "read", "add_to_cart", "purchase"], size=n, p=[0.7, 0.2, 0.06, 0.04])
        times = np.sort(rng.uniform(start, end, n))
        out += [{"unit_id": user, "item_id": f"item-{i:06d}", "event": str(e), "timestamp": float(t)}
                for i, e, t in zip(items.tolist(), kinds, times.tolist(), strict=True)]
    return out


def write_events(rt, events: list[dict], label: str) -> None:
    """Through the event log's validation and writer, a transaction per 10,000."""
    from tqdm import tqdm

    from vitrina.experiments_service.logs import MAX_BATCH, parse_events
    from vitrina.experiments_service.logs import write_events as write
    from vitrina.storage.catalog.db import transaction

    now = time.time()
    with tqdm(total=len(events), desc=label, unit="event", file=sys.stderr) as bar:
        for start in range(0, len(events), MAX_BATCH):
            batch = parse_events(events[start:start + MAX_BATCH], now)
            with transaction(rt.sessions) as s:
                write(s, PROJECT, batch)
            bar.update(len(batch))


def build_project(rt, args: argparse.Namespace, rng: np.random.Generator) -> dict[str, list[str]]:
    """Items, events and a promoted ALS; the users of each kind to ask for."""
    from tqdm import tqdm

    from vitrina.recs.artefacts import ModelStore
    from vitrina.recs.items import MAX_BATCH, ItemService
    from vitrina.recs.models.factors import ALS
    from vitrina.recs.models.popularity import Popularity
    from vitrina.recs.training import read_interactions

    t0 = time.perf_counter()
    expired = set(rng.choice(args.items, size=args.items // 100, replace=False).tolist())
    item_ids = [f"item-{n:06d}" for n in range(args.items)]
    service = ItemService.of(rt)
    with tqdm(total=args.items, desc="items", unit="item", file=sys.stderr) as bar:
        for start in range(0, args.items, MAX_BATCH):
            batch = [{"id": item_ids[n], "type": "article", "title": f"article {n}",
                      **({"active_until": "2020-01-01T00:00:00Z"} if n in expired else {})}
                     for n in range(start, min(args.items, start + MAX_BATCH))]
            service.upsert_many(PROJECT, batch)
            bar.update(len(batch))
    now = time.time()
    known = [f"user-{n:06d}" for n in range(args.users)]
    events = synthetic_events(rng, args.items, known, args.events_per_user, now - 30 * 86_400, now - 86_400)
    write_events(rt, events, "events")
    print(f"serving project: {args.items:,} items ({len(expired):,} expired), {len(events):,} events "
          f"of {len(known):,} users, loaded in {time.perf_counter() - t0:.1f} s")

    t0 = time.perf_counter()
    table = {"user_id": [e["unit_id"] for e in events], "item_id": [e["item_id"] for e in events],
             "event": [e["event"] for e in events], "ts": [e["timestamp"] for e in events]}
    data = Interactions.from_table(table, item_ids=item_ids)  # the whole catalogue
    if len(data) != len(read_interactions(rt.sessions, PROJECT)):
        raise SystemExit("the catalogue does not hold the events written")
    model = ALS(factors=args.factors, regularization=args.regularization, alpha=args.alpha,
                iterations=args.iterations, seed=args.seed).fit(data)
    maps = {"user_ids": np.asarray(data.user_ids, dtype=str),
            "item_ids": np.asarray(data.item_ids, dtype=str),
            "popularity": Popularity().fit(data).popularity}
    store = ModelStore(rt.store)
    counts = {"interactions": len(data), "users": data.n_users, "items": data.n_items}
    manifest = store.save(PROJECT, model, maps, {}, counts, "none")
    store.promote(PROJECT, manifest.model, manifest.version)
    print(f"als ({args.factors} factors) fitted on {data.n_users:,} users x {data.n_items:,} items "
          f"and promoted in {time.perf_counter() - t0:.1f} s")

    # unseen at fit time, with events since: folded in
    fresh = [f"new-{n:05d}" for n in range(max(1, args.users // 10))]
    write_events(rt, synthetic_events(rng, args.items, fresh, 8, now - 3600, now), "fold-in events")
    return {"known": known, "fold-in": fresh,
            "unknown": [f"stranger-{n:05d}" for n in range(max(1, args.users // 10))]}


def request_plan(rng: np.random.Generator, users: dict[str, list[str]], n: int) -> list[tuple[str, str]]:
    kinds = rng.choice(len(KINDS), size=n, p=MIX)
    return [(KINDS[k], users[KINDS[k]][int(rng.integers(len(users[KINDS[k]])))]) for k in kinds]


def percentiles(ms: list[float]) -> str:
    a = np.asarray(ms)
    return (f"p50 {np.percentile(a, 50):6.2f}  p90 {np.percentile(a, 90):6.2f}  "
            f"p99 {np.percentile(a, 99):6.2f}  max {a.max():7.2f}  mean {a.mean():6.2f}")


def http_latency(args: argparse.Namespace, workdir: Path, settings, plan: list[tuple[str, str]],
                 k: int) -> float:
    """Time the plan's requests against a real server; the overall p99 in ms."""
    from delivery_servers import HOST, Server, client, free_port
    from tqdm import tqdm

    port = free_port()
    env = {"VITRINA_DEV": "1", "VITRINA_DATA_DIR": str(settings.data_dir),
           "VITRINA_DATABASE_URL": settings.database_url,
           "VITRINA_SERVER__HTTP_WORKERS": "1", "VITRINA_SERVER__INPROCESS_WORKERS": "0"}
    argv = [sys.executable, "-m", "vitrina.cli", "serve", "--host", HOST, "--port", str(port)]
    with Server("vitrina", argv, port, "/healthz", workdir / "server.log", env=env) as server, \
            client(timeout=30.0) as http:
        url = f"{server.base}/v1/recommendations"
        warm = plan[: max(50, len(plan) // 50)]
        for _, user in warm:  # loads the model, fills connection and statement caches
            answer = http.get(url, params={"user": user, "k": k})
            if answer.status_code != 200:
                raise SystemExit(f"GET /v1/recommendations answered {answer.status_code}: "
                                 f"{answer.text[:300]}")
        floor = []
        for _ in range(1000):
            t = time.perf_counter()
            http.get(server.base + "/healthz")
            floor.append(1000 * (time.perf_counter() - t))
        by_kind: dict[str, list[float]] = {kind: [] for kind in KINDS}
        fallbacks: dict[str, dict[str, int]] = {kind: {} for kind in KINDS}
        short, errors = 0, 0
        before = histograms(http, server.base)
        deadline = time.monotonic() + args.max_seconds
        for kind, user in tqdm(plan, desc="GET /v1/recommendations", unit="req", file=sys.stderr):
            if time.monotonic() > deadline:
                print(f"stopped at the --max-seconds budget ({args.max_seconds:.0f} s)", file=sys.stderr)
                break
            t = time.perf_counter()
            answer = http.get(url, params={"user": user, "k": k})
            by_kind[kind].append(1000 * (time.perf_counter() - t))
            if answer.status_code != 200:
                errors += 1
                continue
            body = answer.json()
            fb = str(body.get("fallback"))
            fallbacks[kind][fb] = fallbacks[kind].get(fb, 0) + 1
            short += len(body["items"]) < k
        after = histograms(http, server.base)
    everything = [x for v in by_kind.values() for x in v]
    stopped = "" if len(everything) == len(plan) else f" of {len(plan):,} (stopped by --max-seconds)"
    print(f"\nGET /v1/recommendations?user=...&k={k}: {len(everything):,} requests{stopped} in sequence "
          f"over one keep-alive connection (ms; {errors} errors, {short} short lists)")
    print(f"  {'GET /healthz (floor)':24} {percentiles(floor)}   n={len(floor)}")
    for kind in KINDS:
        answers = ", ".join(f"fallback {f}: {c}" for f, c in sorted(fallbacks[kind].items()))
        print(f"  {kind + ' users':24} {percentiles(by_kind[kind])}   n={len(by_kind[kind])}  ({answers})")
    print(f"  {'all':24} {percentiles(everything)}")
    inside_server(before, after)
    return float(np.percentile(everything, 99))


def histograms(http, base: str) -> dict[str, dict[float, float]]:
    """Cumulative bucket counts (upper bound in s -> count, +inf included) of the
    server's request-time histograms, summed over their labels, with "sum" and "count"."""
    from prometheus_client.parser import text_string_to_metric_families

    wanted = {"vitrina_recs_request_seconds": "service call (route)",
              "vitrina_http_request_seconds": "whole app (middleware)"}
    out: dict[str, dict] = {label: {} for label in wanted.values()}
    text = http.get(base + "/metrics").text
    for family in text_string_to_metric_families(text):
        label = wanted.get(family.name)
        if label is None:
            continue
        for sample in family.samples:
            if family.name == "vitrina_http_request_seconds" and \
                    sample.labels.get("route") != "/v1/recommendations":
                continue
            key = {"_bucket": float(sample.labels.get("le", "nan")), "_sum": "sum",
                   "_count": "count"}.get(sample.name[len(family.name):])
            if key is not None:
                out[label][key] = out[label].get(key, 0.0) + sample.value
    return out


def inside_server(before: dict, after: dict) -> None:
    """What the server measured of the timed requests alone (bucket bounds: a
    percentile is 'at most' its bucket's upper bound)."""
    for label, end in after.items():
        start = before.get(label, {})
        count = end.get("count", 0) - start.get("count", 0)
        if not count:
            print(f"  {label:24} (no samples on /metrics)")
            continue
        mean = 1000 * (end["sum"] - start.get("sum", 0.0)) / count
        delta = {b: end[b] - start.get(b, 0.0) for b in end if isinstance(b, float)}
        print(f"  {label:24} mean {mean:6.2f}  p50 <= {_bucket(delta, 0.5 * count)}  "
              f"p99 <= {_bucket(delta, 0.99 * count)}   n={count:.0f}   (server-side, from /metrics)")


def _bucket(cumulative: dict[float, float], rank: float) -> str:
    """The upper bound (ms) of the first bucket holding ``rank`` samples."""
    for bound in sorted(cumulative):
        if cumulative[bound] >= rank:
            return "inf" if bound == float("inf") else f"{1000 * bound:.1f}"
    return "?"


class _Inline:
    """A stand-in for the service's scoring pool that runs the call in the caller's
    thread, so that cProfile sees it."""

    def submit(self, fn, *args, **kwargs):
        from concurrent.futures import Future

        f: Future = Future()
        try:
            f.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # noqa: BLE001 - handed to the caller as the pool would
            f.set_exception(exc)
        return f

    def shutdown(self, *args, **kwargs) -> None:
        pass


def stages(rt, args: argparse.Namespace, plan: list[tuple[str, str]], k: int) -> None:
    """Each stage of an answer timed in-process on the same catalog and model: the same
    queries as the service's, the model's scoring, the shared top-k, the response."""
    from vitrina.recs.data import EVENT_WEIGHTS
    from vitrina.recs.models.base import top_k
    from vitrina.recs.serving import RecsService, history_query

    service = RecsService.of(rt)
    a = service.artefact(PROJECT)
    names = ("history query", "inactive query (in the background)", "exclusion mask", "scoring", "top_k",
             "response JSON", "service.recommend")
    times: dict[str, dict[str, list[float]]] = {kind: {n: [] for n in names} for kind in KINDS}

    def clock(kind: str, name: str, fn):
        t = time.perf_counter()
        out = fn()
        times[kind][name].append(1000 * (time.perf_counter() - t))
        return out

    from dataclasses import asdict

    from vitrina.api.routers.recs import Recommendations  # imported before the clock

    def response(rec) -> bytes:
        try:  # the router's response model, as FastAPI validates and serialises it
            body = {"variant": None, "propensity": None, "request_id": "0" * 32, **asdict(rec)}
            return Recommendations.model_validate(body).model_dump_json().encode()
        except Exception:  # noqa: BLE001 - the router's model changed: plain JSON
            return json.dumps(asdict(rec)).encode()

    sample = plan[: args.stage_requests]
    for kind, user in sample:
        hist = clock(kind, "history query", lambda u=user: service.history(PROJECT, u))
        clock(kind, "inactive query (in the background)", lambda: service.read_inactive(PROJECT))
        known, _, m = clock(kind, "exclusion mask",
                            lambda h=hist: service.exclusions(PROJECT, a, h, exclude_seen=True))
        if user in a.user_index:
            scores = clock(kind, "scoring", lambda u=user: a.model.scores(np.array([a.user_index[u]])))
        elif kind == "fold-in":
            pos = [(i, EVENT_WEIGHTS[e]) for i, e in known if EVENT_WEIGHTS.get(e, 0) > 0]
            scores = clock(kind, "scoring", lambda pos=pos: a.model.scores_for_history(
                np.array([i for i, _ in pos]), np.array([w for _, w in pos]))[None, :])
        else:
            scores = clock(kind, "scoring", lambda: a.popularity[None, :])
        clock(kind, "top_k", lambda s=scores, m=m: top_k(s, k, m))
        rec = clock(kind, "service.recommend", lambda u=user: service.recommend(PROJECT, u, k))
        clock(kind, "response JSON", lambda r=rec: response(r))
    print(f"\nserver-side stages, in-process on the same catalog and model, {len(sample)} requests "
          "of the same mix (ms: p50 / p99; service.recommend is the whole call, as the route makes it)")
    print(f"  {'stage':34} " + "  ".join(f"{kind:>17}" for kind in KINDS))
    for n in names:
        cells = []
        for kind in KINDS:
            v = times[kind][n]
            cells.append(f"{np.percentile(v, 50):7.2f} / {np.percentile(v, 99):7.2f}" if v else f"{'-':>17}")
        print(f"  {n:34} " + "  ".join(cells))
    if rt.engine.dialect.name == "sqlite":  # which index the catalog's planner takes
        from sqlalchemy import text

        sql = str(history_query(PROJECT, "u").compile(rt.engine, compile_kwargs={"literal_binds": True}))
        with rt.engine.connect() as c:
            plan = [row[-1] for row in c.execute(text("EXPLAIN QUERY PLAN " + sql))]
        print(f"  history query plan (SQLite): {'; '.join(plan)}")
    if args.profile:
        import cProfile
        import io
        import pstats

        if hasattr(service, "_pool"):
            service._pool = _Inline()  # the scoring thread's work shows in the profile
        prof = cProfile.Profile()
        prof.enable()
        for _, user in sample:
            service.recommend(PROJECT, user, k)
        prof.disable()
        out = io.StringIO()
        pstats.Stats(prof, stream=out).sort_stats("cumulative").print_stats(30)
        print(f"\ncProfile of service.recommend over the same {len(sample)} requests:")
        print(out.getvalue())


def serving(args: argparse.Namespace) -> float:
    """Build the project (or reuse the one --keep holds), time the server; the overall
    p99 in ms."""
    if args.keep is not None:
        args.keep.mkdir(parents=True, exist_ok=True)
        return serve_in(args, args.keep.resolve())
    with tempfile.TemporaryDirectory(prefix="vitrina-bench-recs-") as tmp:
        return serve_in(args, Path(tmp))


def serve_in(args: argparse.Namespace, workdir: Path) -> float:
    from tests.conftest import make_settings
    from vitrina.testing import make_runtime

    rng = np.random.default_rng(args.seed)
    settings = make_settings(workdir, f"sqlite:///{workdir}/catalog.db")
    marker = workdir / "bench-recs.json"
    built = {"items": args.items, "users": args.users, "events_per_user": args.events_per_user,
             "factors": args.factors, "seed": args.seed}
    if marker.exists() and json.loads(marker.read_text()).get("built") == built:
        users = json.loads(marker.read_text())["users"]
        print(f"serving project: reused from {workdir} ({built})")
    elif any(workdir.iterdir()):
        raise SystemExit(f"{workdir} holds something else than this bench's project: "
                         "name an empty or new directory")
    else:
        rt = make_runtime(settings)
        try:
            users = build_project(rt, args, rng)
        finally:
            rt.close()
        if args.keep is not None:
            marker.write_text(json.dumps({"built": built, "users": users}))
    plan = request_plan(np.random.default_rng(args.seed + 1), users, args.requests)
    p99 = http_latency(args, workdir, settings, plan, k=20)
    rt = make_runtime(settings, migrate=False)
    try:
        stages(rt, args, plan, k=20)
    finally:
        rt.close()
    return p99


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--split", choices=["temporal", "leave-last-out"], default="temporal")
    parser.add_argument("--quantile", type=float, default=0.8, help="temporal cut: this quantile of time")
    parser.add_argument("--factors", type=int, default=64)
    parser.add_argument("--regularization", type=float, default=0.05)
    parser.add_argument("--alpha", type=float, default=2.0)
    parser.add_argument("--iterations", type=int, default=15)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--no-serving", dest="serving", action="store_false",
                        help="the MovieLens leaderboard only")
    parser.add_argument("--items", type=int, default=100_000, help="serving: items in the catalogue")
    parser.add_argument("--users", type=int, default=10_000, help="serving: users the model is fitted on")
    parser.add_argument("--events-per-user", type=int, default=20, help="serving: their mean event count")
    parser.add_argument("--requests", type=int, default=10_000, help="serving: timed requests")
    parser.add_argument("--stage-requests", type=int, default=200,
                        help="serving: requests whose stages are timed in-process")
    parser.add_argument("--max-seconds", type=float, default=240.0,
                        help="serving: stop the timed requests after this long (a slow server)")
    parser.add_argument("--keep", type=Path, metavar="DIR",
                        help="serving: build the project in DIR and keep it; a later run with the "
                        "same parameters reuses it")
    parser.add_argument("--profile", action="store_true", help="serving: cProfile the service call too")
    args = parser.parse_args()
    for name in ("items", "users", "events_per_user", "requests", "stage_requests", "max_seconds"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    if args.items < CLUSTERS_ITEMS:
        parser.error(f"--items must be at least {CLUSTERS_ITEMS}")

    ratio, rate = offline(args)
    p99 = serving(args) if args.serving else None
    print()
    print(f"recs batch recommendations/s: {rate:.0f}")
    print(f"recs best/implicit-als ndcg@10: {ratio:.2f}")
    if p99 is not None:
        print(f"recs p99 ms: {p99:.1f}")


if __name__ == "__main__":
    main()
