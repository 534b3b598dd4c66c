"""Bandits on simulated arms: Thompson sampling beats epsilon-greedy, propensities
are honest (sum to 1, match how often arms are played), state round-trips."""

from __future__ import annotations

import json

import numpy as np
import pytest

from vitrina.experiments.bandits import (
    UCB1,
    EpsilonGreedy,
    LinUCB,
    ThompsonBernoulli,
    bandit_from_dict,
    simulate_bernoulli,
    win_probabilities,
)
from vitrina.experiments.errors import InvalidExperiment, InvalidLogs

ARMS = ("a", "b", "c", "d", "e")
MEANS = (0.1, 0.2, 0.3, 0.4, 0.5)


def test_thompson_regret_below_epsilon_greedy_after_10000_rounds():
    for seed in (1, 2):
        ts = simulate_bernoulli(ThompsonBernoulli(ARMS, seed=seed), MEANS, 10_000, seed=seed)
        eg = simulate_bernoulli(EpsilonGreedy(ARMS, epsilon=0.1, seed=seed), MEANS, 10_000,
                                seed=seed)
        assert ts.regret < eg.regret, (ts.regret, eg.regret)
        assert np.all((ts.propensities > 0) & (ts.propensities <= 1))


@pytest.mark.parametrize("policy", [
    ThompsonBernoulli(ARMS, seed=0), UCB1(ARMS, seed=0), EpsilonGreedy(ARMS, seed=0),
])
def test_propensities_sum_to_one(policy):
    assert np.isclose(policy.probabilities().sum(), 1.0)
    policy.update(["a", "b", "b", "c", "e", "e"], [1, 0, 1, 1, 0, 1])
    assert np.isclose(policy.probabilities().sum(), 1.0)
    d = policy.choose()
    assert d.propensity == pytest.approx(policy.probabilities()[d.index])
    assert d.arm == ARMS[d.index]


def test_thompson_propensities_match_play_frequencies():
    ts = ThompsonBernoulli(ARMS, seed=4)
    ts.update(list("aabbbccdde"), [0, 1, 1, 0, 1, 1, 1, 0, 1, 0])
    probs = ts.probabilities()
    plays = np.bincount([ts.choose().index for _ in range(20_000)], minlength=5) / 20_000
    assert np.allclose(plays, probs, atol=0.012)


def test_win_probabilities_equal_monte_carlo_even_for_sharp_posteriors():
    rng = np.random.default_rng(0)
    for alpha, beta in (([2, 3, 5], [8, 7, 5]),
                        ([30_000, 30_300, 29_800], [970_000, 969_700, 970_200])):
        a, b = np.array(alpha, float), np.array(beta, float)
        draws = rng.beta(a, b, size=(400_000, 3))
        mc = np.bincount(draws.argmax(axis=1), minlength=3) / 400_000
        assert np.allclose(win_probabilities(a, b), mc, atol=0.004)


def test_ucb_and_epsilon_greedy_probabilities():
    ucb = UCB1(ARMS)
    assert np.allclose(ucb.probabilities(), 0.2)  # nothing tried: uniform over untried
    ucb.update(list(ARMS), [0, 0, 1, 0, 0])
    assert ucb.probabilities().tolist() == [0, 0, 1, 0, 0]
    eg = EpsilonGreedy(ARMS, epsilon=0.2)
    eg.update(list(ARMS), [0, 0, 1, 0, 0])
    assert np.allclose(eg.probabilities(), [0.04, 0.04, 0.84, 0.04, 0.04])


def test_discounting_follows_drift():
    rng = np.random.default_rng(8)

    def run(discount: float) -> float:
        policy = ThompsonBernoulli(("x", "y"), discount=discount, seed=3)
        late = 0.0
        for t in range(60):  # 60 batches of 50; the better arm swaps halfway
            means = (0.7, 0.3) if t < 30 else (0.3, 0.7)
            picks = [policy.choose().index for _ in range(50)]
            rewards = (rng.random(50) < np.take(means, picks)).astype(float)
            policy.update(picks, rewards)
            late += rewards.sum() if t >= 30 else 0.0
        return late

    assert run(0.995) > run(1.0) + 100


def test_linucb_learns_contexts():
    rng = np.random.default_rng(5)
    weights = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    policy = LinUCB(("p", "q", "r"), dim=3, alpha=0.5, epsilon=0.05, seed=1)
    hits = []
    for _ in range(40):
        xs = rng.dirichlet(np.ones(3), 50)
        decisions = [policy.choose(x) for x in xs]
        idx = [d.index for d in decisions]
        assert all(d.propensity >= 0.05 / 3 for d in decisions)
        rewards = (rng.random(50) < (xs * weights[idx]).sum(axis=1)).astype(float)
        hits.append(np.mean(np.array(idx) == xs.argmax(axis=1)))
        policy.update(idx, rewards, xs)
    assert np.mean(hits[-10:]) > 0.75 > np.mean(hits[:1]) - 0.1
    assert np.isclose(policy.probabilities(xs[0]).sum(), 1.0)


@pytest.mark.parametrize("policy", [
    ThompsonBernoulli(ARMS, prior=(2, 5), discount=0.99, seed=1),
    UCB1(ARMS), EpsilonGreedy(ARMS, epsilon=0.3),
    LinUCB(ARMS, dim=2, alpha=0.3, epsilon=0.1),
])
def test_state_round_trips_as_json(policy):
    contexts = np.array([[1.0, 0.0], [0.5, 0.5], [0.0, 1.0]])
    policy.update(["a", "c", "c"], [1, 0, 1], contexts)
    again = bandit_from_dict(json.loads(json.dumps(policy.to_dict())))
    assert type(again) is type(policy)
    ctx = contexts[1] if isinstance(policy, LinUCB) else None
    assert np.allclose(again.probabilities(ctx), policy.probabilities(ctx))


def test_bad_input_is_refused():
    with pytest.raises(InvalidExperiment):
        ThompsonBernoulli(("a", "a"))
    with pytest.raises(InvalidExperiment):
        bandit_from_dict({"policy": "softmax", "arms": ["a"]})
    ts = ThompsonBernoulli(ARMS)
    with pytest.raises(InvalidLogs):
        ts.update(["z"], [1])
    with pytest.raises(InvalidLogs):
        ts.update(["a"], [2.0])
    with pytest.raises(InvalidLogs):
        ts.update(["a", "b"], [1])
    with pytest.raises(InvalidLogs):
        LinUCB(ARMS, dim=2).choose(np.ones(3))
