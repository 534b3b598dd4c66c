"""The approximate index gives the exact index's answers on clustered data."""

from __future__ import annotations

import numpy as np
import pytest

from vitrina.search.exact import ExactIndex
from vitrina.search.hnsw import HnswIndex

from .conftest import clustered

N, DIM, QUERIES, K = 2000, 384, 200, 10


@pytest.fixture(scope="module")
def pair() -> tuple[ExactIndex, HnswIndex, np.ndarray]:
    vectors = clustered(N, DIM, seed=1)
    ids = [f"asset-{i:05d}" for i in range(N)]
    # one inserting thread: the same graph on every run, so a pass or a fail repeats
    # (parallel builds differ run to run; bench/analysis.py measures those)
    exact, ann = ExactIndex(DIM), HnswIndex(DIM, build_threads=1)
    exact.add(ids, vectors)
    ann.add(ids, vectors)
    return exact, ann, clustered(QUERIES, DIM, seed=2)


def recall(exact: ExactIndex, ann: HnswIndex, queries: np.ndarray) -> tuple[float, list]:
    """recall@K of ``ann`` against ``exact``, and the queries whose top-1 answers differ."""
    hits, top1_misses = 0, []
    for q in queries:
        want, got = exact.query(q, K), ann.query(q, K)
        hits += len({id_ for id_, _ in want} & {id_ for id_, _ in got})
        if want[0][0] != got[0][0]:
            top1_misses.append((want[:2], got[:2]))
    return hits / (K * len(queries)), top1_misses


def test_ann_top10_matches_exact(pair):
    exact, ann, queries = pair
    r, top1_misses = recall(exact, ann, queries)
    assert r >= 0.99, f"recall@10 {r:.3f}"
    assert top1_misses == []


def test_scores_agree_with_exact(pair):
    exact, ann, queries = pair
    for q in queries[:20]:
        want, got = exact.query(q, 1)[0], ann.query(q, 1)[0]
        assert got[0] == want[0] and got[1] == pytest.approx(want[1], abs=1e-4)


def test_incremental_changes_keep_matching_exact(pair):
    exact, ann, queries = pair
    # remove each of the first 20 queries' nearest neighbours, add 300 new vectors
    gone = sorted({exact.query(q, 1)[0][0] for q in queries[:20]})
    fresh = clustered(300, DIM, seed=5)
    fresh_ids = [f"fresh-{i}" for i in range(300)]
    for index in (exact, ann):
        index.remove(gone)
        index.add(fresh_ids, fresh)
    assert len(exact) == len(ann) == N - len(gone) + 300
    for q in queries[:20]:
        assert not {id_ for id_, _ in ann.query(q, K)} & set(gone)
    for i in range(0, 300, 30):  # a new vector is its own nearest neighbour
        assert ann.query(fresh[i], 1)[0][0] == fresh_ids[i]
    r, top1_misses = recall(exact, ann, queries[:100])
    assert r >= 0.99 and top1_misses == []
