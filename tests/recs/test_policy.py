"""Shaping a ranked list: freshness, MMR diversity and epsilon-greedy exploration with
its propensities, against hand-worked values and simulated frequencies."""

from __future__ import annotations

import numpy as np
import pytest

from vitrina.recs.policy import MAX_EXPLORE, Options, explore, freshen, mmr, normalised, shape


def test_normalised_and_freshen() -> None:
    assert normalised(np.array([2.0, 4.0, 3.0])).tolist() == [0.0, 1.0, 0.5]
    assert normalised(np.array([5.0, 5.0])).tolist() == [1.0, 1.0]
    assert normalised(np.array([1.0, -np.inf, 3.0])).tolist() == [0.0, 0.0, 1.0]
    # relevance 1, 0.5, 0 at ages 2, 0, undated with a 2-day half-life
    out = freshen(np.array([3.0, 2.0, 1.0]), np.array([2.0, 0.0, np.nan]), 2.0)
    assert out.tolist() == [0.5, 0.5, 0.0]
    # the future counts as new; one more half-life halves again
    assert freshen(np.array([1.0, 0.0]), np.array([-5.0, 4.0]), 2.0).tolist() == [1.0, 0.0]


def test_mmr_by_hand() -> None:
    # items 0 and 1 are near copies; 2 is different but a little less relevant
    scores = np.array([1.0, 0.9, 0.8])
    sim = np.array([[1.0, 0.95, 0.1], [0.95, 1.0, 0.1], [0.1, 0.1, 1.0]])
    assert mmr(scores, sim, 3, 0.0).tolist() == [0, 1, 2]  # relevance only
    # relevance scaled: 1, 0.5, 0; similarity off the diagonal scaled: 0.95 -> 1, 0.1 -> 0
    # after 0: item 1 gets 0.5*0.5 - 0.5*1 = -0.25, item 2 gets 0 - 0 = 0 -> 2 first
    assert mmr(scores, sim, 3, 0.5).tolist() == [0, 2, 1]
    assert mmr(scores, sim, 2, 0.5).tolist() == [0, 2]


def test_explore_propensities_match_frequencies() -> None:
    rng = np.random.default_rng(3)
    n, k, eps, runs = 5, 2, 0.3, 40_000
    counts: dict[tuple[int, int], int] = {}
    logged: dict[tuple[int, int], set[float]] = {}
    for _ in range(runs):
        chosen, p = explore(k, n, eps, rng)
        assert len(set(chosen.tolist())) == k
        key = tuple(chosen.tolist())
        counts[key] = counts.get(key, 0) + 1
        logged.setdefault(key, set()).add(float(np.prod(p)))
    # each list's logged probability (the product of its places' propensities) is its frequency
    for key, c in counts.items():
        (prob,) = logged[key]
        assert abs(c / runs - prob) < 4 * np.sqrt(prob * (1 - prob) / runs) + 1e-3, (key, c / runs, prob)
    # the probabilities of every possible list sum to 1
    assert len(counts) == n * (n - 1)
    assert abs(sum(p for (p,) in logged.values()) - 1.0) < 1e-9
    first_best = (1 - eps) + eps / n
    assert abs(sum(c for key, c in counts.items() if key[0] == 0) / runs - first_best) < 0.01


def test_explore_off_is_greedy() -> None:
    chosen, p = explore(3, 10, 0.0, np.random.default_rng(0))
    assert chosen.tolist() == [0, 1, 2] and p.tolist() == [1.0, 1.0, 1.0]


def test_shape_keeps_the_model_order_when_off() -> None:
    items, scores = np.array([7, 3, 9, 1]), np.array([4.0, 3.0, 2.0, 1.0])
    out_items, out_scores, p = shape(items, scores, 3, Options(), age_days=None, similarity=None,
                                     rng=np.random.default_rng(0))
    assert out_items.tolist() == [7, 3, 9] and out_scores.tolist() == [4.0, 3.0, 2.0]
    assert p.tolist() == [1.0, 1.0, 1.0]


def test_shape_freshness_reorders_and_diversity_without_similarity_is_a_no_op() -> None:
    items, scores = np.array([10, 11, 12, 13]), np.array([3.0, 2.5, 2.0, 1.0])
    ages = {10: 30.0, 11: 0.0, 12: 0.0, 13: 0.0}
    out, _, _ = shape(items, scores, 4, Options(freshness_days=1.0, diversity=0.5),
                      age_days=lambda xs: np.array([ages[int(x)] for x in xs]),
                      similarity=lambda xs: None, rng=np.random.default_rng(0))
    # relevance 1, 0.75, 0.5, 0: the month-old best item sinks below the new ones but the
    # least relevant (0 stays 0)
    assert out.tolist() == [11, 12, 10, 13]


@pytest.mark.parametrize("bad", [{"diversity": 1.5}, {"diversity": -0.1}, {"explore": MAX_EXPLORE + 0.01},
                                 {"freshness_days": 0}, {"freshness_days": float("inf")},
                                 {"diversity": "0.3"}])
def test_options_refuse_bad_values(bad) -> None:
    with pytest.raises(ValueError):
        Options(**bad)


def test_pool_widens_only_when_shaping() -> None:
    assert Options().pool(10) == 10
    assert Options(explore=0.1).pool(10) == 50 and Options(diversity=0.2).pool(20) == 80
