"""Analysis and search benchmarks, run on demand (not part of `make test`).

Each section is a function that prints its own lines and returns its closing lines;
the closing lines of every section run are printed last, in section order, for
analysers of the output. Sections so far:

  analysers    the model analysers (ImageNet tags + embedding, OCR, text embedding) on
               the demo photos, one image per call against calls of their batch size
               (bench/models.py); `analysis batched/single` is the images/s of all three
               in turn, batched over one by one.

  ann          Vitrina's HNSW index against exact search on the same random unit vectors
               and queries: recall@10 and single-query latency (p50/p99); the closing
               lines are those of the kind search serves at that size (the exact scan
               up to 40 M floats, decision 023).
  candidates   the raw ANN libraries side by side (those installed of usearch, hnswlib,
               faiss-cpu): build time, memory, recall@10 at several search depths,
               latency, save/load, removal (decision 023).
  backfill     the same analyser backfill (the five plain-code analysers' results of
               --backfill-n real-photo variants, all missing) on the local process pool
               and on Ray, --processes wide each: images/s and the ratio (decision 026).
               Ray is started before the clock (as a running cluster would be).

    .venv/bin/python bench/analysis.py                        # analysers, then ann at 100,000 x 384
    .venv/bin/python bench/analysis.py --n 20000 --dim 1280
    .venv/bin/python bench/analysis.py --sections candidates --n 20000
    .venv/bin/python bench/analysis.py --sections backfill --backfill-n 200 --processes 2
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from vitrina.search.exact import ExactIndex
from vitrina.search.hnsw import HnswIndex

K = 10


def unit_vectors(n: int, dim: int, seed: int) -> np.ndarray:
    """Random-normal vectors scaled to unit length: no clusters, the hardest case for a
    graph index (real embeddings gather and reach a given recall with less search)."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, dim), dtype=np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def exact_top(vectors: np.ndarray, queries: np.ndarray) -> np.ndarray:
    """Row numbers of each query's K nearest by cosine, by brute force in blocks."""
    out = []
    for start in range(0, len(queries), 100):
        scores = queries[start : start + 100] @ vectors.T
        out.append(np.argpartition(-scores, K, axis=1)[:, :K])
    return np.concatenate(out)


def percentiles(ms: list[float]) -> tuple[float, float]:
    return float(np.percentile(ms, 50)), float(np.percentile(ms, 99))


def timed(search: Callable[[np.ndarray], object], queries: np.ndarray) -> tuple[list, list[float]]:
    results, ms = [], []
    for q in queries:
        start = time.perf_counter_ns()
        results.append(search(q))
        ms.append((time.perf_counter_ns() - start) / 1e6)
    return results, ms


def rss_mib() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


# -- section: ann ------------------------------------------------------------------------


def section_ann(args: argparse.Namespace) -> list[str]:
    vectors = unit_vectors(args.n, args.dim, seed=1)
    queries = unit_vectors(args.queries, args.dim, seed=2)
    ids = [f"asset-{i}" for i in range(args.n)]
    exact, ann = ExactIndex(args.dim), HnswIndex(args.dim, expansion_search=args.ef)
    exact.add(ids, vectors)
    start = time.perf_counter()
    ann.add(ids, vectors)
    build = time.perf_counter() - start
    for q in queries[:20]:  # warm caches and the graph's upper layers
        ann.query(q, K)
    exact_found, exact_ms = timed(lambda q: exact.query(q, K), queries)
    ann_found, ann_ms = timed(lambda q: ann.query(q, K), queries)
    hits = sum(len({i for i, _ in a} & {i for i, _ in e})
               for a, e in zip(ann_found, exact_found, strict=True))
    recall = hits / (K * len(queries))
    (e50, e99), (a50, a99) = percentiles(exact_ms), percentiles(ann_ms)
    print(f"ann: {args.n} x {args.dim} cosine, {args.queries} queries, ef {args.ef}, "
          f"build {build:.1f} s")
    print(f"exact p50/p99 ms: {e50:.2f} / {e99:.2f}")
    print(f"hnsw  p50/p99 ms: {a50:.2f} / {a99:.2f}, recall@10 {recall:.3f}")
    # what search serves at this size (decision 023): the scan up to its line, the graph past it
    from vitrina.search.live import kind_for

    served = kind_for(args.n, args.dim)
    served_recall, served_p99 = (1.0, e99) if served == "exact" else (recall, a99)
    return [f"ann kind served at {args.n} x {args.dim}: {served}",
            f"ann recall@10: {served_recall:.3f}", f"ann p99 ms: {served_p99:.1f}"]


# -- section: candidates -----------------------------------------------------------------


def _usearch(dim: int, vectors: np.ndarray, m: int, efc: int):
    import usearch
    from usearch.index import Index

    index = Index(ndim=dim, metric="cos", dtype="f32", connectivity=m, expansion_add=efc)
    index.add(np.arange(len(vectors), dtype=np.uint64), vectors, threads=os.cpu_count())

    def set_ef(ef: int) -> None:
        index.expansion_search = ef

    return {
        "version": usearch.__version__, "set_ef": set_ef,
        "search": lambda q: index.search(q, K, threads=1).keys,
        "save": lambda p: index.save(p), "load": lambda p: Index.restore(p),
        "remove": lambda keys: index.remove(np.asarray(keys, dtype=np.uint64)),
    }


def _hnswlib(dim: int, vectors: np.ndarray, m: int, efc: int):
    import hnswlib

    index = hnswlib.Index(space="cosine", dim=dim)
    index.init_index(max_elements=len(vectors), ef_construction=efc, M=m)
    index.add_items(vectors, np.arange(len(vectors)), num_threads=os.cpu_count())
    index.set_num_threads(1)

    def load(path: str):
        other = hnswlib.Index(space="cosine", dim=dim)
        other.load_index(path)
        return other

    def remove(keys) -> None:
        for key in keys:
            index.mark_deleted(int(key))

    return {
        "version": "0.8.0" if not hasattr(hnswlib, "__version__") else hnswlib.__version__,
        "set_ef": index.set_ef, "search": lambda q: index.knn_query(q, k=K)[0][0],
        "save": index.save_index, "load": load, "remove": remove,
    }


def _faiss(dim: int, vectors: np.ndarray, m: int, efc: int):
    import faiss

    faiss.omp_set_num_threads(os.cpu_count() or 1)
    index = faiss.IndexHNSWFlat(dim, m, faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = efc
    index.add(vectors)
    faiss.omp_set_num_threads(1)

    def set_ef(ef: int) -> None:
        index.hnsw.efSearch = ef

    return {
        "version": faiss.__version__, "set_ef": set_ef,
        "search": lambda q: index.search(q[None, :], K)[1][0],
        "save": lambda p: faiss.write_index(index, p), "load": faiss.read_index,
        "remove": lambda keys: index.remove_ids(np.asarray(keys, dtype=np.int64)),
    }


CANDIDATES = {"usearch": _usearch, "hnswlib": _hnswlib, "faiss": _faiss}


def section_candidates(args: argparse.Namespace) -> list[str]:
    vectors = unit_vectors(args.n, args.dim, seed=1)
    queries = unit_vectors(args.queries, args.dim, seed=2)
    truth = exact_top(vectors, queries)
    _, exact_ms = timed(lambda q: np.argpartition(-(vectors @ q), K)[:K], queries[:200])
    print(f"candidates: {args.n} x {args.dim} cosine, M {args.m}, efConstruction {args.efc}")
    print("numpy exact p50/p99 ms: {:.2f} / {:.2f}".format(*percentiles(exact_ms)))
    rows = []
    for name, make in CANDIDATES.items():
        try:
            __import__({"faiss": "faiss"}.get(name, name))
        except ImportError:
            print(f"{name}: not installed, skipped")
            continue
        gc.collect()
        before, start = rss_mib(), time.perf_counter()
        lib = make(args.dim, vectors, args.m, args.efc)
        build, memory = time.perf_counter() - start, rss_mib() - before
        for ef in args.efs:
            lib["set_ef"](ef)
            found, ms = timed(lib["search"], queries)
            hits = sum(len(set(np.asarray(f).tolist()) & set(t.tolist()))
                       for f, t in zip(found, truth, strict=True))
            p50, p99 = percentiles(ms)
            row = {"library": f"{name} {lib['version']}", "dim": args.dim, "n": args.n,
                   "build_s": round(build, 1), "memory_mib": round(memory), "ef": ef,
                   "recall": round(hits / (K * len(queries)), 3), "p50_ms": round(p50, 2),
                   "p99_ms": round(p99, 2)}
            with tempfile.TemporaryDirectory() as tmp:
                path = os.path.join(tmp, "index")
                start = time.perf_counter()
                lib["save"](path)
                row["save_s"] = round(time.perf_counter() - start, 2)
                row["file_mib"] = round(os.path.getsize(path) / 2**20)
                start = time.perf_counter()
                lib["load"](path)
                row["load_s"] = round(time.perf_counter() - start, 2)
            rows.append(row)
            print(json.dumps(row), flush=True)
        try:
            lib["remove"]([0, 1, 2])
            print(f"{name}: removal works")
        except RuntimeError as exc:
            print(f"{name}: no removal ({str(exc).splitlines()[0][:120]})")
    return [f"candidates measured: {len({r['library'] for r in rows})}"]


# -- section: backfill -------------------------------------------------------------------

PLAIN_ANALYSERS = ("blurhash", "phash", "colors", "quality", "focus")


def _backfill_catalog(root: Path, n: int):
    """Settings over a processed catalog of ``n`` distinct images: the repository's
    photos at several widths and crops, ingested and run through the pipeline."""
    import pyvips

    from vitrina.config import Settings
    from vitrina.testing import make_runtime, process_all

    values = {"dev": True, "data_dir": root / "data", "server": {"inprocess_workers": 0},
              "derivatives": {"formats": ["jpeg"]}}
    if "analysis" in Settings.model_fields:
        values["analysis"] = {"models": []}  # plain-code analysers only: no model is loaded
    settings = Settings(**values)
    rt = make_runtime(settings)
    photos = sorted((Path(__file__).resolve().parents[1] / "data" / "photos").iterdir())
    (root / "src").mkdir()
    for i in range(n):
        img = pyvips.Image.new_from_file(str(photos[i % len(photos)]))
        img = (img.flatten() if img.hasalpha() else img).thumbnail_image(96 + 8 * (i // len(photos)))
        k = i // len(photos)
        if k % 2:
            w, h = max(8, img.width * 3 // 4), max(8, img.height * 3 // 4)
            img = img.crop((k * 7) % (img.width - w + 1), (k * 5) % (img.height - h + 1), w, h)
        path = root / "src" / f"{i:05d}.png"
        img.pngsave(str(path))
        rt.ingestor.ingest_file(path)
    process_all(rt)
    rt.close()
    return settings


def section_backfill(args: argparse.Namespace) -> list[str]:
    import shutil

    from sqlalchemy import delete

    from vitrina.batch.backfill import BackfillRequest, backfill
    from vitrina.pipeline.queue import SIGNALS
    from vitrina.runtime import Runtime

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        start = time.perf_counter()
        template = _backfill_catalog(root / "template", args.backfill_n)
        print(f"backfill: {args.backfill_n} images ingested and processed in "
              f"{time.perf_counter() - start:.1f} s", flush=True)
        rates, catalogs = {}, {}
        for engine in ("local", "ray"):
            data = root / engine / "data"
            shutil.copytree(template.data_dir, data)
            rt = Runtime(template.model_copy(update={"data_dir": data}))
            with rt.sessions() as s, s.begin():
                s.execute(delete(SIGNALS).where(SIGNALS.c.name.in_(PLAIN_ANALYSERS)))
            ray_init = None
            if engine == "ray":
                import ray

                t = time.perf_counter()
                ray.init(num_cpus=args.processes, include_dashboard=False, log_to_driver=False)
                ray_init = round(time.perf_counter() - t, 1)
            try:
                summary = backfill(rt, BackfillRequest(PLAIN_ANALYSERS, engine=engine,
                                                       processes=args.processes))
            finally:
                if engine == "ray":
                    ray.shutdown()
            with rt.sessions() as s:
                catalogs[engine] = {(r.asset_id, r.name): (r.version, json.dumps(r.value, sort_keys=True))
                                    for r in s.execute(SIGNALS.select())}
            rt.close()
            rates[engine] = summary.assets / summary.seconds
            row = {"engine": engine, "images": summary.assets, "results": summary.written,
                   "failed": summary.failed, "processes": args.processes,
                   "seconds": round(summary.seconds, 2), "images_per_s": round(rates[engine], 1)}
            if ray_init is not None:
                row["ray_init_s"] = ray_init
            print(json.dumps(row), flush=True)
        same = catalogs["ray"] == catalogs["local"]
        print(f"backfill catalogs equal: {same}")
    return [f"backfill local images/s: {rates['local']:.1f}", f"backfill ray images/s: {rates['ray']:.1f}",
            f"backfill ray/local: {rates['ray'] / rates['local']:.2f}"]


def section_analysers(args: argparse.Namespace) -> list[str]:
    from bench.models import measure

    rows = measure(args.rounds)
    single, batched = sum(r[2] for r in rows), sum(r[3] for r in rows)
    return [f"analysis batched/single: {single / batched:.2f}"]


SECTIONS = {"analysers": section_analysers, "ann": section_ann, "candidates": section_candidates, "backfill": section_backfill}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sections", default="analysers,ann",
                        help=f"comma-separated, from: {', '.join(SECTIONS)}")
    parser.add_argument("--rounds", type=int, default=3, help="analysers: rounds (the best counts)")
    parser.add_argument("--n", type=int, default=100_000, help="indexed vectors")
    parser.add_argument("--dim", type=int, default=384)
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--ef", type=int, default=None,
                        help="search depth of the ann section (default: the index's own)")
    parser.add_argument("--efs", type=lambda s: [int(x) for x in s.split(",")],
                        default=[128, 256, 512], help="candidates: search depths to try")
    parser.add_argument("--m", type=int, default=16, help="candidates: graph edges per node")
    parser.add_argument("--efc", type=int, default=128, help="candidates: insert depth")
    parser.add_argument("--backfill-n", type=int, default=200, help="backfill: images in the catalog")
    parser.add_argument("--processes", type=int, default=os.cpu_count() or 1,
                        help="backfill: worker processes of each engine")
    args = parser.parse_args(argv)
    if args.ef is None:
        from vitrina.search.hnsw import EXPANSION_SEARCH

        args.ef = EXPANSION_SEARCH
    names = [s.strip() for s in args.sections.split(",") if s.strip()]
    unknown = [s for s in names if s not in SECTIONS]
    if unknown:
        parser.error(f"unknown section(s): {', '.join(unknown)}")
    closing = []
    for name in names:
        closing += SECTIONS[name](args)
    for line in closing:
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
