"""What a screen of the library costs to fetch, on demand (not part of `make test`).

A catalogue of --assets small synthetic images (distinct colours and gradients, made
with pyvips) is ingested and processed in-process (derivatives and signals, untimed);
then `vitrina serve` (one HTTP process, loopback, development mode, no pipeline
workers) answers the sections named by --sections, each a function of this file over
the same running server:

- ``api``: the data of a 100-asset grid (each asset's size, status, derivatives and
  signals) fetched by GraphQL (`POST /graphql`, one query) against REST. REST needs
  one call for it, `GET /v1/assets?limit=100`, since the listing holds every asset's
  derivatives and signals; the GraphQL query asks for the same values. The two
  alternate request by request over one keep-alive connection each (so a slower
  minute of a shared machine lands on both), after a warm-up. It prints p50, p90,
  p99 and the bytes of each answer, and the closing line `ui graphql/rest p99: N.NN`
  (above 1: GraphQL is slower at the 99th percentile).

- ``paint``: the library page (its first 48 tiles of the catalogue) in headless
  Chromium on loopback, a fresh browser context each load (no cache, no cookies) after
  one untimed load that renders the tiles' thumbnails into the server's cache: the
  Performance API's first contentful paint, ``domInteractive`` and the load event
  (every thumbnail decoded), median and max over --loads. It prints ``ui library fcp
  ms: N`` and ``ui library interactive ms: N`` (medians; the aim is under 1,000 ms with
  --assets 1000).

    .venv/bin/python bench/ui.py                           # ~1 minute on 2 shared cores
    .venv/bin/python bench/ui.py --sections paint --assets 1000   # ingest ~5 minutes
    .venv/bin/python bench/ui.py --requests 500 --assets 200
    .venv/bin/python bench/ui.py --database-url postgresql://postgres@127.0.0.1/test
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from delivery_servers import HOST, Server, client, free_port

#: the assets a grid shows
PAGE = 100
#: the grid's data: what REST's listing holds for each asset that a grid draws
GRID_QUERY = """query Grid($limit: Int!) {
  assets(limit: $limit) {
    items {
      id status kind mime width height sizeBytes createdAt title altText tags originalUrl
      derivatives { width height format mime sizeBytes path url }
      signals { blurhash colours { hex fraction } all { name producer version value } }
    }
    nextCursor
  }
}"""


@dataclass(frozen=True)
class Served:
    base: str
    assets: int


def make_catalogue(args: argparse.Namespace, workdir: Path):
    """Settings of a catalogue holding --assets processed images (ingested in-process)."""
    import pyvips

    from vitrina.config import Settings
    from vitrina.testing import make_runtime, process_all

    settings = Settings(dev=True, data_dir=workdir / "data",
                        database_url=args.database_url or f"sqlite:///{workdir / 'catalog.db'}",
                        analysis={"models": []}, server={"inprocess_workers": 0})
    rt = make_runtime(settings)
    rng = np.random.default_rng(7)
    started = time.perf_counter()
    for n in range(args.assets):
        r, g, b = (int(c) for c in rng.integers(0, 200, 3))
        ramp = pyvips.Image.xyz(240, 160)[0] * ((n % 5 + 1) / 10)  # a gradient of its own per image
        image = ramp.linear(1, r).bandjoin([ramp.linear(0.5, g), ramp.linear(0.2, b)]).cast("uchar")
        image = image.copy(interpretation="srgb")
        path = workdir / f"grid-{n}.jpg"
        path.write_bytes(image.jpegsave_buffer(Q=85))
        rt.ingestor.ingest_file(path)
    process_all(rt)
    rt.close()
    print(f"catalogue: {args.assets} images ingested and processed in {time.perf_counter() - started:.1f} s",
          file=sys.stderr)
    return settings


def percentiles(ms: list[float]) -> str:
    a = np.asarray(ms)
    return (f"p50 {np.percentile(a, 50):7.2f}  p90 {np.percentile(a, 90):7.2f}  "
            f"p99 {np.percentile(a, 99):7.2f}  max {a.max():7.2f}")


def api_timings(args: argparse.Namespace, served: Served) -> None:
    """GraphQL against REST for the data of one grid of PAGE assets."""
    body = {"query": GRID_QUERY, "variables": {"limit": PAGE}}
    rest_url, graphql_url = f"{served.base}/v1/assets", f"{served.base}/graphql"
    with client() as rest, client() as graphql:
        def by_rest() -> bytes:
            answer = rest.get(rest_url, params={"limit": PAGE})
            answer.raise_for_status()
            return answer.content

        def by_graphql() -> bytes:
            answer = graphql.post(graphql_url, json=body)
            answer.raise_for_status()
            if b'"errors"' in answer.content[:20]:
                raise SystemExit(f"POST /graphql answered errors: {answer.text[:300]}")
            return answer.content

        sides = {"REST GET /v1/assets?limit=100": by_rest, "GraphQL POST /graphql": by_graphql}
        sizes = {name: len(fetch()) for name, fetch in sides.items()}
        for _ in range(args.warmup):
            for fetch in sides.values():
                fetch()
        timings: dict[str, list[float]] = {name: [] for name in sides}
        names = list(sides)
        for n in range(args.requests):
            for name in names if n % 2 == 0 else names[::-1]:  # neither always goes first
                t = time.perf_counter()
                sides[name]()
                timings[name].append(1000 * (time.perf_counter() - t))
    print(f"\nthe data of a {PAGE}-asset grid (derivatives and signals), {args.requests} requests a side, "
          f"alternating (ms)")
    for name in names:
        print(f"  {name:32} {percentiles(timings[name])}   {sizes[name]:,} bytes")
    rest_p99, graphql_p99 = (float(np.percentile(timings[n], 99)) for n in names)
    print(f"ui graphql/rest p99: {graphql_p99 / rest_p99:.2f}")


#: what a loaded page reports: its first contentful paint, and from its navigation
#: entry the document's interactive time and the load event's end (ms since navigation)
PAINT_TIMINGS = """() => new Promise((resolve) => {
    const report = (fcp) => {
        const nav = performance.getEntriesByType("navigation")[0];
        resolve({fcp: fcp ? fcp.startTime : null, interactive: nav.domInteractive, load: nav.loadEventEnd,
                 tiles: document.querySelectorAll("#grid .card").length});
    };
    // the paint entry is queued after the frame: observed (buffered), not read at once
    new PerformanceObserver((list) => {
        const fcp = list.getEntriesByName("first-contentful-paint")[0];
        if (fcp) report(fcp);
    }).observe({type: "paint", buffered: true});
    setTimeout(() => report(null), 10000);
})"""


def paint_timings(args: argparse.Namespace, served: Served) -> None:
    """The library page's paint timings in headless Chromium, fresh context a load."""
    from playwright.sync_api import sync_playwright

    from tests.ui.browser import CHROMIUM, FLAGS

    runs: dict[str, list[float]] = {"fcp": [], "interactive": [], "load": []}
    tiles = 0
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        for n in range(args.loads + 1):
            context = browser.new_context(viewport={"width": 1280, "height": 800})
            page = context.new_page()
            page.goto(served.base + "/", wait_until="load")
            found = page.evaluate(PAINT_TIMINGS)
            context.close()
            if n == 0:  # untimed: the thumbnails' first renders
                continue
            if found["fcp"] is None:
                raise SystemExit("the library page reported no first contentful paint")
            tiles = found["tiles"]
            for name, values in runs.items():
                values.append(found[name])
        browser.close()
    print(f"\nthe library page ({tiles} tiles of {served.assets} assets), headless Chromium, "
          f"{args.loads} loads in fresh contexts (ms since navigation)")
    for name, label in (("fcp", "first contentful paint"), ("interactive", "DOM interactive"),
                        ("load", "load event (thumbnails in)")):
        a = np.asarray(runs[name])
        print(f"  {label:28} median {np.median(a):7.1f}  max {a.max():7.1f}")
    print(f"ui library fcp ms: {np.median(runs['fcp']):.0f}")
    print(f"ui library interactive ms: {np.median(runs['interactive']):.0f}")


#: name -> a section's function over the running server
SECTIONS: dict[str, Callable[[argparse.Namespace, Served], None]] = {"api": api_timings, "paint": paint_timings}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sections", default="api", help=f"comma list of {', '.join(SECTIONS)}")
    parser.add_argument("--assets", type=int, default=120, help="images in the catalogue (at least 100)")
    parser.add_argument("--requests", type=int, default=300, help="timed requests per side")
    parser.add_argument("--warmup", type=int, default=20, help="untimed requests per side first")
    parser.add_argument("--loads", type=int, default=10, help="timed page loads (paint)")
    parser.add_argument("--database-url", default=None, help="default: a SQLite file in a temporary directory")
    args = parser.parse_args()
    sections = [s.strip() for s in args.sections.split(",") if s.strip()]
    unknown = [s for s in sections if s not in SECTIONS]
    if unknown or not sections:
        parser.error(f"unknown section(s) {unknown}; known: {', '.join(SECTIONS)}")
    if args.assets < PAGE:
        parser.error(f"--assets must be at least {PAGE}: a grid is {PAGE} assets")
    with tempfile.TemporaryDirectory(prefix="vitrina-bench-ui-") as tmp:
        workdir = Path(tmp)
        settings = make_catalogue(args, workdir)
        port = free_port()
        env = {"VITRINA_DEV": "1", "VITRINA_DATA_DIR": str(settings.data_dir),
               "VITRINA_SIGNING__KEYS": '{"k1": "a-signing-key-for-the-ui-bench"}',  # the pages sign URLs
               "VITRINA_DATABASE_URL": settings.database_url, "VITRINA_ANALYSIS__MODELS": "[]",
               "VITRINA_SERVER__HTTP_WORKERS": "1", "VITRINA_SERVER__INPROCESS_WORKERS": "0"}
        argv = [sys.executable, "-m", "vitrina.cli", "serve", "--host", HOST, "--port", str(port)]
        with Server("vitrina", argv, port, "/healthz", workdir / "server.log", env=env) as server:
            for name in sections:
                SECTIONS[name](args, Served(server.base, args.assets))


if __name__ == "__main__":
    main()
