"""Search latency on a synthetic catalogue (decision 027), run on demand.

Writes ``--n`` assets straight into a fresh SQLite catalogue (titles, user and model
tags, OCR text on a fifth of them, five dominant colours, a 384-d text embedding and
a 1280-d image embedding each, vectors clustered as real embeddings are), then times
through the search service:

  open     the first ``similar`` call: the image index built from the catalogue and saved
  keyword  ``q`` of one and of two words (keyword only: no query encoder here)
  hybrid   ``q`` with a stand-in query encoder (keyword + text embedding)
  colour   ``color`` alone, and ``q`` with ``color``
  listing  filters only (``min_width``), the first page
  similar  search by example on the warm index (exact below 5,000 vectors, HNSW above)

    .venv/bin/python bench/search.py --n 5000 --queries 30
"""

from __future__ import annotations

import argparse
import hashlib
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import insert

from tests.conftest import make_settings
from vitrina.search.query import parse_query
from vitrina.search.vectors import encode_vector
from vitrina.storage.catalog.db import transaction
from vitrina.storage.catalog.models import Asset, Original, Signal, Tag
from vitrina.testing import make_runtime


def clustered(rng: np.random.Generator, n: int, dim: int, clusters: int = 50) -> np.ndarray:
    centres = rng.standard_normal((clusters, dim)).astype(np.float32)
    points = centres[rng.integers(clusters, size=n)] + 0.8 * rng.standard_normal((n, dim)).astype(np.float32)
    return points / np.linalg.norm(points, axis=1, keepdims=True)


def fill(rt, n: int, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    words = [f"w{i:03d}" for i in range(500)]
    text, image = clustered(rng, n, 384), clustered(rng, n, 1280)
    now = datetime.now(UTC)
    for start in range(0, n, 1000):
        originals, assets, tags, signals = [], [], [], []
        for i in range(start, min(n, start + 1000)):
            sha = hashlib.sha256(str(i).encode()).hexdigest()
            asset_id = f"{i:012x}{sha[:20]}"
            originals.append({"sha256": sha, "size_bytes": 1, "mime": "image/png", "blob_key": f"o/{sha}",
                              "created_at": now})
            assets.append({"id": asset_id, "project_id": "default", "sha256": sha, "kind": "image",
                           "mime": "image/png", "filename": f"{i}.png", "size_bytes": 1, "status": "ready",
                           "width": int(rng.integers(100, 2000)), "height": int(rng.integers(100, 2000)),
                           "meta": {}, "created_at": now, "updated_at": now,
                           "title": " ".join(rng.choice(words, 3)), "alt_text": " ".join(rng.choice(words, 8))})
            for source in ("user", "imagenet"):
                tags += [{"asset_id": asset_id, "tag": t, "source": source} for t in set(rng.choice(words, 3))]
            colours = [{"hex": "#" + bytes(rng.integers(0, 256, 3).tolist()).hex(), "fraction": 0.2} for _ in range(5)]
            signals += [
                {"asset_id": asset_id, "name": "colors", "producer": "colors", "version": "1", "value": {"colors": colours}},
                {"asset_id": asset_id, "name": "text_embedding", "producer": "t", "version": "1",
                 "value": {"embedding": encode_vector(text[i])}},
                {"asset_id": asset_id, "name": "imagenet", "producer": "i", "version": "1",
                 "value": {"tags": [], "embedding": encode_vector(image[i])}},
            ]
            if i % 5 == 0:
                signals.append({"asset_id": asset_id, "name": "ocr", "producer": "ocr", "version": "1",
                                "value": {"text": " ".join(rng.choice(words, 20)), "lines": []}})
        with transaction(rt.sessions) as s:
            for table, rows in ((Original, originals), (Asset, assets), (Tag, tags), (Signal, signals)):
                s.execute(insert(table.__table__), rows)


def timed(label: str, fn, repeat: int) -> None:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    times.sort()
    p99 = times[min(len(times) - 1, int(len(times) * 0.99))]
    print(f"{label:28} p50 {statistics.median(times):8.1f} ms   p99 {p99:8.1f} ms   (n={repeat})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=5000)
    parser.add_argument("--queries", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        rt = make_runtime(make_settings(Path(tmp), f"sqlite:///{tmp}/catalog.db"))
        t = time.perf_counter()
        fill(rt, args.n)
        print(f"catalogue: {args.n} assets written in {time.perf_counter() - t:.1f} s")
        search = rt.search
        first = rt.assets.list("default", limit=1).items[0].id
        t = time.perf_counter()
        search.similar("default", first)
        print(f"{'open (build + save) image':28} {(time.perf_counter() - t) * 1000:8.1f} ms")
        rng = np.random.default_rng(1)
        probe = [f"w{i:03d}" for i in rng.integers(0, 500, args.queries * 2)]
        it = iter(range(10**9))
        timed("keyword, one word", lambda: search.search("default", parse_query(q=probe[next(it) % len(probe)])),
              args.queries)
        timed("keyword, two words", lambda: search.search("default", parse_query(q=" ".join(probe[:2]))), args.queries)
        query_vector = clustered(np.random.default_rng(7), 1, 384)[0]
        search._encoders = lambda c: (lambda _q: query_vector) if c == "text_embedding" else None
        search._encoder_cache.clear()
        search.search("default", parse_query(q="w001"))  # opens the text index
        timed("hybrid (keyword + text)", lambda: search.search("default", parse_query(q="w001 w002")), args.queries)
        timed("colour", lambda: search.search("default", parse_query(color="#a0522d")), args.queries)
        timed("words + colour", lambda: search.search("default", parse_query(q="w001", color="#a0522d")),
              args.queries)
        timed("listing (min_width)", lambda: search.search("default", parse_query(min_width=1000)), args.queries)
        ids = [a.id for a in rt.assets.list("default", limit=100).items]
        timed("similar (warm)", lambda: search.similar("default", ids[next(it) % len(ids)]), args.queries)
        rt.close()


if __name__ == "__main__":
    main()
