"""Metrics against values worked out by hand, the splits on tiny tables, and a
MovieLens-100K check that the batch size changes nothing."""

from __future__ import annotations

import math

import numpy as np
import pytest

from vitrina.recs.data import Interactions, movielens_100k, movielens_item_vectors
from vitrina.recs.evaluation import (
    average_precision_at_k,
    beyond_accuracy,
    evaluate,
    leaderboard,
    leave_last_out,
    ndcg_at_k,
    popularity_percentiles,
    recall_at_k,
    temporal_split,
)
from vitrina.testing import make_registries

# ranked list whose hits are at ranks 2 and 5 (1-based), 3 relevant items (one missed)
RANKED = [10, 1, 11, 12, 2, 13, 14, 15, 16, 17]
RELEVANT = [1, 2, 3]


def test_recall_at_k_by_hand():
    assert recall_at_k(RANKED, RELEVANT, 10) == pytest.approx(2 / 3)
    assert recall_at_k(RANKED, RELEVANT, 3) == pytest.approx(1 / 3)
    assert recall_at_k(RANKED, RELEVANT, 1) == 0.0
    assert recall_at_k(RANKED, [], 10) == 0.0


def test_ndcg_at_k_by_hand():
    # DCG = 1/log2(3) + 1/log2(6) = 0.63093 + 0.38685 = 1.01778
    # IDCG (3 relevant) = 1 + 1/log2(3) + 1/log2(4) = 1 + 0.63093 + 0.5 = 2.13093
    assert ndcg_at_k(RANKED, RELEVANT, 10) == pytest.approx(1.01778 / 2.13093, abs=1e-5)
    assert ndcg_at_k(RANKED, RELEVANT, 10) == pytest.approx(0.47762, abs=1e-5)
    # at k=3: one hit (rank 2); the ideal list holds 3 hits: 0.63093 / 2.13093
    assert ndcg_at_k(RANKED, RELEVANT, 3) == pytest.approx(0.29608, abs=1e-5)
    # at k=2 the ideal holds min(3, 2) = 2 hits: 0.63093 / 1.63093
    assert ndcg_at_k(RANKED, RELEVANT, 2) == pytest.approx(0.38685, abs=1e-5)
    assert ndcg_at_k([1, 2, 3], RELEVANT, 3) == pytest.approx(1.0)
    assert ndcg_at_k([1], [1], 10) == 1.0


def test_map_at_k_by_hand():
    # precision@2 = 1/2, precision@5 = 2/5; divided by min(3, 10) = 3
    assert average_precision_at_k(RANKED, RELEVANT, 10) == pytest.approx((0.5 + 0.4) / 3)
    assert average_precision_at_k(RANKED, RELEVANT, 3) == pytest.approx(0.5 / 3)
    assert average_precision_at_k([1, 2, 3], RELEVANT, 3) == pytest.approx(1.0)


def test_coverage_popularity_and_novelty_by_hand():
    counts = np.array([0, 5, 5, 10])  # training users per item, 10 users
    # ranks with ties averaged: 1, 2.5, 2.5, 4 -> over 4 items
    np.testing.assert_allclose(popularity_percentiles(counts), [0.25, 0.625, 0.625, 1.0])
    lists = np.array([[3, 1], [3, 0], [-1, -1]])  # the last user got nothing
    got = beyond_accuracy(lists, counts, 10)
    assert got["coverage"] == pytest.approx(3 / 4)  # items 0, 1, 3
    assert got["popularity"] == pytest.approx((1.0 + 0.625 + 1.0 + 0.25) / 4)
    # -log2(10/10) = 0, -log2(5/10) = 1, item 0 counts as one user: -log2(1/10) = 3.32193
    assert got["novelty"] == pytest.approx((0 + 1 + 0 + math.log2(10)) / 4)


def _table(rows):
    cols = ("user_id", "item_id", "ts")
    out = {c: [r[i] for r in rows] for i, c in enumerate(cols)}
    out["event"] = ["click"] * len(rows)
    return out


def test_temporal_split_keeps_the_future_out_and_counts_cold_users():
    data = Interactions.from_table(_table([
        ("a", "x", 1), ("a", "y", 2), ("b", "x", 3), ("a", "z", 10), ("a", "x", 11),
        ("c", "y", 12), ("b", "y", 13),
    ]))
    split = temporal_split(data, cut=10)
    assert split.train.ts.max() < 10 <= split.test.ts.min()
    assert list(split.train.item_ids) == list(data.item_ids)  # the same index maps
    u, i = data.user_index(), data.item_index()
    relevant = split.relevant()
    assert relevant[u["a"]].tolist() == [i["z"]]  # x again is no news
    assert relevant[u["b"]].tolist() == [i["y"]]
    warm, cold = split.warm_and_cold()
    assert warm.tolist() == [u["a"], u["b"]] and cold.tolist() == [u["c"]]


def test_leave_last_out_tests_each_users_last_row():
    data = Interactions.from_table(_table([
        ("a", "x", 1), ("a", "y", 5), ("a", "z", 3), ("b", "x", 2), ("c", "y", 1), ("c", "z", 1),
    ]))
    split = leave_last_out(data)
    u, i = data.user_index(), data.item_index()
    test = {(data.user_ids[x], data.item_ids[y]) for x, y in zip(split.test.users, split.test.items)}
    assert test == {("a", "y"), ("c", "z")}  # b has one row: kept for training; c: a tie, later row
    assert len(split.train) == 4
    assert split.warm_and_cold()[0].tolist() == sorted([u["a"], u["c"]])
    assert i["y"] in split.relevant()[u["a"]]


@pytest.fixture(scope="module")
def movielens_split():
    data = Interactions.from_table(movielens_100k())
    return temporal_split(data.with_item_vectors(movielens_item_vectors(data.item_ids)))


def _models():
    from vitrina.recs.models.neighbours import EASE
    from vitrina.recs.models.popularity import Popularity

    registries = make_registries().recommenders
    out = []
    for cls in registries:
        if cls.name == "hybrid":
            out.append(cls([(EASE(), 1.0), (Popularity(), 0.3)]))
        elif cls.name in ("als", "bpr"):
            out.append(cls(factors=16, iterations=10 if cls.name == "als" else 30))
        else:
            out.append(cls())
    return out


def test_metrics_do_not_depend_on_the_batch_size(movielens_split):
    for model in _models():
        model.fit(movielens_split.train)
        one = evaluate(model, movielens_split, fit=False, batch_size=1)
        many = evaluate(model, movielens_split, fit=False, batch_size=64)
        assert one.metrics == many.metrics, model.name
        assert one.users == many.users > 50 and one.cold_users == many.cold_users > 50


def test_a_leaderboard_lists_every_model_best_first(movielens_split):
    from vitrina.recs.models.neighbours import ItemKNN
    from vitrina.recs.models.popularity import Popularity

    results = [evaluate(m, movielens_split) for m in (Popularity(), ItemKNN())]
    table = leaderboard(results)
    lines = table.splitlines()
    assert lines[0].split()[:3] == ["model", "ndcg@10", "recall@10"]
    best = max(results, key=lambda r: r.metrics["ndcg@10"])
    assert lines[2].startswith(best.model)
    assert len(lines) == 4
