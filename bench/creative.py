"""Creative benchmark: render latency and batch rate, the selection endpoint's latency
under concurrent load, then the cumulative regret of the selection policies against a
uniform A/B split on the same simulated campaigns (decisions 034, 036).

    .venv/bin/python bench/creative.py [--rounds 20000] [--seeds 3]   # ~40 s of CPU
        [--clients 2] [--seconds 6] [--no-serving] [--render-rounds 2] [--workers 2]

Rendering: the tests' four demo items (real photos, their focus found as at ingest) in
each built-in template on each of the six placements, in one process (p50/p90/p99 per
creative, p50 per placement), then on a pool of ``--workers`` processes (creatives per
second). Gates are not included: decision 035 times them.

Serving: a real `vitrina serve` (one process, loopback, SQLite catalog, development
mode) with a campaign of 20 ready creatives (5 headlines x 2 images x 2 layouts) on
one placement and 20,000 logged impressions with their clicks; ``--clients`` threads,
each with its own keep-alive connection, send GET /v1/creatives/{campaign}/{placement}
for ``--seconds`` (the state's background refresh, every 5 s, falls inside), then the
same with a context (the contextual policy). Prints p50/p90/p99 per run and, just
before the last line, ``creative select p99 ms: N.N`` (Thompson, the default).

Three campaigns with known click rates: the tests' 3 headlines x 3 images x 2
layouts (18 variants, main effects and one headline-image bonus); the same grid with
each variant's log-odds drawn independently (no factor structure at all); and a wider
5 x 5 x 4 (100 variants, main effects and one pair bonus). Each policy serves ``--rounds``
impressions per seed, learning every 200; regret is the sum over impressions of the
best rate minus the served one, in clicks. First prints what a decision and a
batch of 200 outcomes cost each policy, then a table of mean regret (and its
range over seeds) and, last, ``creative regret bandit/uniform: N.NN``: the default
policy's (Thompson's) mean regret on the 18-variant campaign over the uniform split's
(lower is better).
"""

from __future__ import annotations

import argparse
import multiprocessing
import sys
import time
from pathlib import Path

import numpy as np
from scipy.special import expit
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from vitrina.creative.selection import Grid, Outcomes, Selector, simulate


def campaign(sizes: tuple[int, ...], base: float, effects: list[list[float]],
             pair: float) -> tuple[Grid, np.ndarray]:
    """Logistic click rates: main effects per factor plus ``pair`` when the first two
    factors both take their option 1."""
    names = ("headline", "image", "layout")
    grid = Grid.of({n: [f"{n[0]}{i}" for i in range(k)] for n, k in zip(names, sizes)})
    codes = grid.codes
    z = base + sum(np.array(e)[codes[:, f]] for f, e in enumerate(effects))
    return grid, expit(z + pair * ((codes[:, 0] == 1) & (codes[:, 1] == 1)))


# the campaign of tests/creative/test_selection.py
GRID, RATES = campaign((3, 3, 2), -3.5, [[0, 0.4, -0.2], [0, 0.2, 0.4], [0, 0.3]], 0.5)
CAMPAIGNS = {
    "3x3x2": (GRID, RATES),
    # no structure: each variant's log-odds drawn on its own (fixed seed)
    "random": (GRID, expit(-3.0 + 0.4 * np.random.default_rng(0).standard_normal(18))),
    "5x5x4": campaign((5, 5, 4), -3.5, [[0, 0.4, -0.2, 0.1, 0.2], [0, 0.2, 0.4, -0.1, 0.0],
                                        [0, 0.3, 0.1, -0.2]], 0.5),
}
POLICIES = {
    "uniform": ("uniform", {}),
    "thompson": ("thompson", {}),
    "mvt": ("mvt", {}),
    "mvt-main": ("mvt", {"interactions": False}),
}


def costs(grid: Grid, rates: np.ndarray) -> dict[str, tuple[float, float]]:
    """Per policy: microseconds per decision (median of 2,000) and milliseconds per
    batch of 200 outcomes folded in, propensities recomputed (median of 20)."""
    out = {}
    for pname, (kind, options) in POLICIES.items():
        selector = Selector(grid, kind, seed=0, **options)
        simulate(selector, rates, 2000, seed=0)
        run = simulate(Selector(grid, "uniform", seed=1), rates, 200, seed=1)
        rows = Outcomes(tuple(grid.ids[i] for i in run.choices), np.ones(200, np.int64),
                        run.clicks, np.zeros(200, np.int64))
        choose = []
        for _ in range(2000):
            t = time.perf_counter()
            selector.choose()
            choose.append(time.perf_counter() - t)
        learn = []
        for _ in range(20):
            t = time.perf_counter()
            selector.learn(rows)
            selector.probabilities()
            learn.append(time.perf_counter() - t)
        out[pname] = (1e6 * float(np.median(choose)), 1e3 * float(np.median(learn)))
    return out


CAMPAIGN_ID, PLACEMENT = "spring", "square"


def seed_project(workdir: Path):
    """A catalog with 20 ready creatives on one placement, a real photo as their asset,
    and 20,000 logged impressions (uniform propensities) with their clicks."""
    import hashlib
    import itertools

    from vitrina.config import Settings
    from vitrina.experiments_service.logs import Event, write_events
    from vitrina.storage.catalog.creative import CreativeRow
    from vitrina.storage.catalog.db import transaction
    from vitrina.testing import make_runtime

    settings = Settings(dev=True, data_dir=workdir / "data",
                        database_url=f"sqlite:///{workdir / 'catalog.db'}",
                        analysis={"models": []})
    rt = make_runtime(settings)
    photo = Path(__file__).resolve().parents[1] / "data" / "photos" / "astronaut.png"
    asset = rt.ingestor.ingest_file(photo).asset_id
    grid = {"headline": [f"h{i}" for i in range(5)], "image": ["i0", "i1"], "layout": ["l0", "l1"]}
    ids = []
    with transaction(rt.sessions) as s:
        for combo in itertools.product(*grid.values()):
            factors = dict(zip(grid, combo))
            cid = hashlib.sha256(repr(factors).encode()).hexdigest()
            ids.append(cid)
            s.add(CreativeRow(project_id="default", creative_id=cid, campaign=CAMPAIGN_ID,
                              item_id="astronaut", placement=PLACEMENT, brand_kit="demo",
                              brand_kit_version=1, template="hero", template_version=1,
                              variant={"factors": factors}, status="ready", gates={},
                              asset_id=asset, audit={}))
    rng = np.random.default_rng(0)
    rates = np.linspace(0.02, 0.08, len(ids))
    events, now = [], time.time()
    for n in range(20_000):
        k = int(rng.integers(len(ids)))
        common = {"request_id": f"bench{n}", "model": "creative", "variant": ids[k],
                  "propensity": 1 / len(ids)}
        events.append(Event(f"u{n % 500}", "impression", now, **common))
        if rng.random() < rates[k]:
            events.append(Event(f"u{n % 500}", "click", now, **common))
    with transaction(rt.sessions) as s:
        write_events(s, "default", events)
    rt.close()
    return settings


def percentiles(ms: list[float]) -> str:
    a = np.asarray(ms)
    return (f"p50 {np.percentile(a, 50):5.2f}  p90 {np.percentile(a, 90):5.2f}  "
            f"p99 {np.percentile(a, 99):5.2f}  max {a.max():6.2f}  n={len(a)}")


def hammer(url: str, params: dict, clients: int, seconds: float) -> list[float]:
    """``clients`` threads, each on its own connection, for ``seconds``: latencies in ms."""
    import threading

    from delivery_servers import client

    out: list[list[float]] = [[] for _ in range(clients)]
    stop = time.perf_counter() + seconds
    failures = []

    def run(mine: list[float]) -> None:
        with client(timeout=10.0) as http:
            while time.perf_counter() < stop:
                t = time.perf_counter()
                r = http.get(url, params=params)
                mine.append(1000 * (time.perf_counter() - t))
                if r.status_code != 200:
                    failures.append(r.status_code)

    threads = [threading.Thread(target=run, args=(m,)) for m in out]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if failures:
        raise SystemExit(f"{len(failures)} answers were not 200: {sorted(set(failures))}")
    return [x for m in out for x in m]


def server_buckets(http, base: str, policy: str) -> dict[float, float]:
    """The server's own select-time histogram (cumulative counts by upper bound, s)."""
    out = {}
    for line in http.get(base + "/metrics").text.splitlines():
        if line.startswith("vitrina_creative_select_seconds_bucket") and f'policy="{policy}"' in line:
            le = line.split('le="')[1].split('"')[0]
            out[float("inf") if le == "+Inf" else float(le)] = float(line.rsplit(" ", 1)[1])
    return out


def inside(before: dict[float, float], after: dict[float, float]) -> str:
    """Bucket bounds of the timed requests' p50 and p99 as the server measured them."""
    delta = {le: after[le] - before.get(le, 0.0) for le in sorted(after)}
    n = delta[float("inf")]

    def at(q: float) -> str:
        return next(f"<= {1000 * le:g}" for le, c in delta.items() if c >= q * n)

    return f"p50 {at(0.5)} ms  p99 {at(0.99)} ms  (in the app, from /metrics)"


def serving_latency(clients: int, seconds: float) -> float:
    """p99 in ms of GET /v1/creatives/{campaign}/{placement} (Thompson) under load."""
    import subprocess
    import tempfile

    from delivery_servers import HOST, Server, client, free_port

    with tempfile.TemporaryDirectory(prefix="vitrina-creative-bench-") as tmp:
        workdir = Path(tmp)
        settings = seed_project(workdir)
        port = free_port()
        env = {"VITRINA_DEV": "1", "VITRINA_DATA_DIR": str(settings.data_dir),
               "VITRINA_DATABASE_URL": settings.database_url,
               "VITRINA_SERVER__HTTP_WORKERS": "1", "VITRINA_SERVER__INPROCESS_WORKERS": "0"}
        argv = [sys.executable, "-m", "vitrina.cli", "serve", "--host", HOST, "--port", str(port)]
        path = f"/v1/creatives/{CAMPAIGN_ID}/{PLACEMENT}"
        with Server("vitrina", argv, port, "/healthz", workdir / "server.log", env=env) as server:
            url = server.base + path
            with client() as http:
                for _ in range(200):  # the first answer builds the state; then warm caches
                    r = http.get(url, params={"user": "u1"})
                    if r.status_code != 200:
                        raise SystemExit(f"GET {path} answered {r.status_code}: {r.text[:300]}")
                floor = hammer(server.base + "/healthz", {}, clients, 2.0)
            with client() as http:
                before = server_buckets(http, server.base, "thompson")
            thompson = hammer(url, {"user": "u1"}, clients, seconds)
            with client() as http:
                thompson_inside = inside(before, server_buckets(http, server.base, "thompson"))
            cli = [sys.executable, "-m", "vitrina.cli", "creative", "policy", CAMPAIGN_ID,
                   PLACEMENT, "--policy", "contextual", "--context",
                   '{"device": ["mobile", "desktop"], "country": ["FR", "DE", "US"]}']
            subprocess.run(cli, env=env, check=True, capture_output=True)
            time.sleep(6)  # the server's refresh reads the new policy
            contextual = hammer(url, {"user": "u1", "context.device": "mobile",
                                      "context.country": "FR"}, clients, seconds)
    print(f"GET {path}, 20 ready creatives, {clients} client threads, loopback, one process:")
    print(f"  {'GET /healthz (floor)':22} {percentiles(floor)}")
    print(f"  {'thompson':22} {percentiles(thompson)}   {len(thompson) / seconds:.0f}/s")
    print(f"  {'':22} {thompson_inside}")
    print(f"  {'contextual':22} {percentiles(contextual)}   {len(contextual) / seconds:.0f}/s")
    return float(np.percentile(thompson, 99))


def _demo() -> tuple[list[dict], object]:
    """The tests' demo items (real photos with their focus) and brand kit."""
    from tests.creative.conftest import DEMO_ITEMS, PHOTOS, brand_dict
    from vitrina.creative.brand import BrandKit
    from vitrina.media.focus import detect_focus

    items = []
    for spec in DEMO_ITEMS:
        data = (PHOTOS / spec["photo"]).read_bytes()
        items.append({**spec, "image": data, "focus": detect_focus(data).to_dict()})
    return items, BrandKit.from_dict(brand_dict())


def _render_all(jobs: list[tuple[int, str, int]]) -> list[float]:
    """Render (item, template, placement) jobs; the milliseconds of each."""
    from vitrina.creative.model import PLACEMENTS
    from vitrina.creative.render import render
    from vitrina.creative.template import builtin

    items, brand = _demo()
    out = []
    for i, name, p in jobs:
        item = items[i]
        t = time.perf_counter()
        render(item, brand, builtin(name), PLACEMENTS[p], item["text"], item["image"], focus=item["focus"])
        out.append(1000 * (time.perf_counter() - t))
    return out


def render_latency(rounds: int, workers: int) -> float:
    """Every demo item in every built-in template on every placement: milliseconds per
    creative in one process, then creatives per second on a pool; the p99."""
    from concurrent.futures import ProcessPoolExecutor

    from vitrina.creative.model import PLACEMENTS
    from vitrina.creative.template import builtin_names

    jobs = [(i, name, p) for i in range(4) for name in builtin_names() for p in range(len(PLACEMENTS))]
    _render_all(jobs[:3])  # fonts and libvips loaded before the clock
    ms = _render_all(jobs * rounds)
    print(f"render, {len(jobs)} creatives (4 items x {len(builtin_names())} templates x "
          f"{len(PLACEMENTS)} placements) x {rounds}, one process: {percentiles(ms)}")
    per_placement = {PLACEMENTS[p].name: [m for (_, _, q), m in zip(jobs * rounds, ms, strict=True) if q == p]
                     for p in range(len(PLACEMENTS))}
    for name, values in per_placement.items():
        print(f"  {name:18} p50 {np.percentile(values, 50):7.1f} ms")
    chunks = [jobs[k::workers] for k in range(workers)]
    # spawned, not forked: libvips and the BLAS pools hold threads a fork would copy mid-use
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        list(pool.map(_render_all, [c[:1] for c in chunks]))  # warm each worker
        started = time.perf_counter()
        done = sum(len(r) for r in pool.map(_render_all, chunks * rounds))
        seconds = time.perf_counter() - started
    print(f"render batch on {workers} processes: {done / seconds:.1f} creatives/s")
    return float(np.percentile(ms, 99))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=20_000)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--clients", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--no-serving", action="store_true")
    parser.add_argument("--render-rounds", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    render_p99 = render_latency(args.render_rounds, args.workers)
    print()
    select_p99 = None
    if not args.no_serving:
        select_p99 = serving_latency(args.clients, args.seconds)
        print()
    threadpool_limits(limits=1, user_api="blas")  # as the API runs: small matrices, no threads
    started = time.perf_counter()
    print(f"{'campaign':<10}{'policy':<10}{'choose us':>10}{'learn 200 ms':>14}")
    for cname in ("3x3x2", "5x5x4"):
        for pname, (choose, learn) in costs(*CAMPAIGNS[cname]).items():
            print(f"{cname:<10}{pname:<10}{choose:>10.1f}{learn:>14.2f}")
    print()
    means: dict[tuple[str, str], float] = {}
    print(f"{'campaign':<10}{'policy':<10}{'regret':>9}{'min':>8}{'max':>8}{'best in last 10%':>18}"
          f"{'/uniform':>10}")
    for cname, (grid, rates) in CAMPAIGNS.items():
        best = int(np.argmax(rates))
        for pname, (kind, options) in POLICIES.items():
            regrets, shares = [], []
            for seed in range(args.seeds):
                run = simulate(Selector(grid, kind, seed=seed, **options), rates, args.rounds,
                               seed=seed)
                regrets.append(run.regret)
                shares.append(np.mean(run.choices[-args.rounds // 10:] == best))
            means[cname, pname] = float(np.mean(regrets))
            ratio = means[cname, pname] / means[cname, "uniform"]
            print(f"{cname:<10}{pname:<10}{np.mean(regrets):>9.1f}{min(regrets):>8.1f}"
                  f"{max(regrets):>8.1f}{np.mean(shares):>18.3f}{ratio:>10.2f}")
    print(f"{args.seeds} seeds x {args.rounds} impressions per policy, "
          f"{time.perf_counter() - started:.0f} s")
    print(f"creative render p99 ms: {render_p99:.0f}")
    if select_p99 is not None:
        print(f"creative select p99 ms: {select_p99:.1f}")
    print(f"creative regret bandit/uniform: "
          f"{means['3x3x2', 'thompson'] / means['3x3x2', 'uniform']:.2f}")


if __name__ == "__main__":
    main()
