"""Selecting the creative variant on a simulated campaign (3 headlines x 3 images x 2
layouts with known click rates and one headline-image interaction): Thompson and the
multivariate bandit converge to the best combination, every decision's propensities
form a distribution, seeds reproduce decisions, the contextual bandit learns a best per
device, and bad input is refused with stable codes."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy.special import expit

from vitrina.creative.mvt import Features, MultivariateThompson
from vitrina.creative.selection import ContextSpace, Grid, Outcomes, Selector, simulate
from vitrina.experiments.errors import InvalidExperiment, InvalidLogs

GRID = Grid.of({"headline": ["h0", "h1", "h2"], "image": ["i0", "i1", "i2"],
                "layout": ["l0", "l1"]})
H, I, L = GRID.codes.T


def logistic(base, headline, image, layout, pair=0.0):
    """Click rates with main effects and a bonus for headline h1 with image i1."""
    z = base + np.array(headline)[H] + np.array(image)[I] + np.array(layout)[L]
    return expit(z + pair * ((H == 1) & (I == 1)))


RATES = logistic(-3.5, [0, 0.4, -0.2], [0, 0.2, 0.4], [0, 0.3], pair=0.5)
BEST = int(np.argmax(RATES))  # h1|i1|l1 at 10.9%; the next two at 8.3%, the mean 5.0%
# on mobile the stacked layout l0 and the image i2 win, whatever the interaction
MOBILE = logistic(-3.5, [0, 0.4, -0.2], [0, 0, 0.6], [0.5, -0.2])
DEVICES = ContextSpace.of({"device": ["desktop", "mobile"]})
CONTEXTS = [{"device": "desktop"}, {"device": "mobile"}]
ROUNDS = 20_000


def test_the_campaign_is_as_described():
    assert GRID.ids[BEST] == "h1|i1|l1" and GRID.ids[int(np.argmax(MOBILE))] == "h1|i2|l0"
    assert RATES[BEST] == pytest.approx(0.1091, abs=1e-4)
    assert GRID.options("h2|i0|l1") == {"headline": "h2", "image": "i0", "layout": "l1"}


@pytest.mark.parametrize("kind", ["thompson", "mvt"])
def test_bandits_converge_to_the_best_combination(kind):
    uniform_regret = ROUNDS * (RATES.max() - RATES.mean())  # 1,184 clicks
    for seed in (1, 2):
        run = simulate(Selector(GRID, kind, seed=seed), RATES, ROUNDS, seed=seed)
        assert np.mean(run.choices[-2000:] == BEST) > 0.85, (seed, run.regret)
        assert run.regret < 0.25 * uniform_regret, (seed, run.regret)
        assert np.all((run.propensities > 0) & (run.propensities <= 1))


def test_uniform_split_regret_is_its_expectation():
    run = simulate(Selector(GRID, "uniform", seed=3), RATES, ROUNDS, seed=3)
    expected = ROUNDS * (RATES.max() - RATES.mean())
    assert abs(run.regret - expected) < 4 * np.sqrt(ROUNDS) * np.std(RATES.max() - RATES)
    assert np.allclose(run.propensities, 1 / 18)


def _trained(kind: str, **options) -> Selector:
    selector = Selector(GRID, kind, seed=7, **options)
    rng = np.random.default_rng(11)
    variants = rng.integers(18, size=3000)
    clicks = (rng.random(3000) < RATES[variants]).astype(int)
    selector.learn(Outcomes(tuple(GRID.ids[v] for v in variants), np.ones(3000, int), clicks,
                            np.zeros(3000, int)))
    return selector


@pytest.mark.parametrize("kind", ["thompson", "mvt", "uniform"])
def test_propensities_are_a_distribution_and_are_what_decisions_follow(kind):
    for selector in (Selector(GRID, kind, seed=7), _trained(kind)):
        probs = selector.probabilities()
        assert probs.shape == (18,) and np.all(probs >= 0)
        assert probs.sum() == pytest.approx(1.0)
        choices = [selector.choose() for _ in range(20_000)]
        for c in choices[:50]:
            assert c.propensity == probs[c.index] and c.variant == GRID.ids[c.index]
        plays = np.bincount([c.index for c in choices], minlength=18) / 20_000
        # binomial sampling error of 20,000 plays: at most 0.0035 per variant
        assert np.max(np.abs(plays - probs)) < 0.012, kind


def test_mvt_propensities_are_within_their_monte_carlo_error():
    """2,000 posterior draws against 200,000: each probability within 4 standard
    errors sqrt(p (1 - p) / 2000) (at most 0.045)."""
    policy = _trained("mvt").policy
    exact = MultivariateThompson.from_dict({**policy.to_dict(), "draws": 200_000}, GRID)
    p, q = exact.probabilities(), policy.probabilities()
    assert np.all(np.abs(q - p) <= 4 * np.sqrt(p * (1 - p) / 2000) + 1e-3)
    assert p.max() < 0.99  # the check compares spread-out distributions


def test_thompson_propensities_are_its_quadrature_within_monte_carlo_error():
    """The library's quadrature of P(variant's Beta draw is the largest) against
    400,000 draws on the 18 variants after 3,000 impressions: within 0.003."""
    policy = _trained("thompson").policy
    draws = np.random.default_rng(1).beta(*policy.posterior(), size=(400_000, 18))
    mc = np.bincount(draws.argmax(axis=1), minlength=18) / 400_000
    assert np.max(np.abs(policy.probabilities() - mc)) < 0.003


def test_hill_climbing_finds_the_exhaustive_best():
    """On 144 combinations with pairwise weights as strong as the main ones (a hard
    case), five restarts find the best of 2,000 random weight draws 94% of the time
    and lose 0.7% of the score range on average; one restart finds 61%."""
    grid = Grid.of({"a": list("pqrs"), "b": list("pqrs"), "c": list("pqr"), "d": list("pqr")})
    features = Features(grid.sizes, interactions=True)
    rng = np.random.default_rng(2)
    weights = rng.standard_normal((2000, features.dim))
    scores = weights @ features.matrix(grid.codes).T
    exhaustive, rows = np.argmax(scores, axis=1), np.arange(2000)
    climbed = MultivariateThompson(grid, max_exhaustive=0).hill_climb(weights, rng)
    shortfall = (scores[rows, exhaustive] - scores[rows, climbed]) \
        / (scores[rows, exhaustive] - scores.mean(axis=1))
    assert np.mean(climbed == exhaustive) > 0.9 and shortfall.mean() < 0.01
    assert np.all(shortfall >= -1e-12)  # never better than the best: a real combination
    once = MultivariateThompson(grid, max_exhaustive=0, restarts=1).hill_climb(weights, rng)
    assert np.mean(once == exhaustive) < 0.7


def test_mvt_by_hill_climbing_converges_too():
    selector = Selector(GRID, "mvt", seed=4, max_exhaustive=0)
    run = simulate(selector, RATES, ROUNDS, seed=4)
    assert np.mean(run.choices[-2000:] == BEST) > 0.85, run.regret


def test_contextual_bandit_learns_a_best_per_device():
    rates = np.vstack([RATES, MOBILE])
    for seed in (1, 2):
        ctx = simulate(Selector(GRID, "contextual", context=DEVICES, seed=seed), rates, ROUNDS,
                       contexts=CONTEXTS, seed=seed)
        flat = simulate(Selector(GRID, "thompson", seed=seed), rates, ROUNDS,
                        contexts=CONTEXTS, seed=seed)
        late, device = ctx.choices[-6000:], ctx.contexts[-6000:]
        for d in (0, 1):
            assert np.mean(late[device == d] == np.argmax(rates[d])) > 0.7, (seed, d)
        assert ctx.regret < 0.6 * flat.regret, (ctx.regret, flat.regret)
        assert np.all(ctx.propensities >= 0.05 / 18)  # epsilon keeps every variant possible
    probs = Selector(GRID, "contextual", context=DEVICES).probabilities({"device": "mobile"})
    assert probs.sum() == pytest.approx(1.0)


@pytest.mark.parametrize("kind", ["thompson", "mvt", "contextual", "uniform"])
def test_seeds_reproduce_decisions_and_state_round_trips(kind):
    options = {"context": DEVICES} if kind == "contextual" else {}
    contexts = CONTEXTS if kind == "contextual" else None
    rates = np.vstack([RATES, MOBILE]) if contexts else RATES
    a = simulate(Selector(GRID, kind, seed=5, **options), rates, 1000, contexts=contexts)
    b = simulate(Selector(GRID, kind, seed=5, **options), rates, 1000, contexts=contexts)
    c = simulate(Selector(GRID, kind, seed=6, **options), rates, 1000, contexts=contexts)
    assert np.array_equal(a.choices, b.choices) and np.array_equal(a.propensities, b.propensities)
    assert not np.array_equal(a.choices, c.choices)

    selector = Selector(GRID, kind, seed=5, **options)
    simulate(selector, rates, 600, contexts=contexts)
    again = Selector.from_dict(json.loads(json.dumps(selector.to_dict())))
    assert again.kind == kind and again.grid == GRID
    context = CONTEXTS[1] if contexts else None
    assert np.allclose(again.probabilities(context), selector.probabilities(context))


def test_learning_from_aggregated_rows_equals_learning_impression_by_impression():
    rows = [{"variant": "h1|i1|l1", "impressions": 40, "clicks": 6, "conversions": 1},
            {"variant": "h0|i0|l0", "impressions": 30, "clicks": 1}]
    by_rows = Selector(GRID, "thompson")
    by_rows.learn(Outcomes.from_rows(rows))
    single = Selector(GRID, "thompson")
    single.learn(Outcomes.from_rows(
        [{"variant": "h1|i1|l1", "clicks": int(k < 6)} for k in range(40)]
        + [{"variant": "h0|i0|l0", "clicks": int(k < 1)} for k in range(30)]))
    assert np.allclose(by_rows.probabilities(), single.probabilities())
    state = by_rows.to_dict()["policy"]["state"]
    assert state["successes"][BEST] == 6 and state["failures"][BEST] == 34
    on_conversions = Selector(GRID, "thompson", reward="conversion")
    on_conversions.learn(Outcomes.from_rows(rows))
    assert on_conversions.to_dict()["policy"]["state"]["successes"][BEST] == 1


def test_bad_input_is_refused_with_stable_codes():
    selector = Selector(GRID, "thompson")
    cases = [
        (InvalidLogs, lambda: selector.learn(Outcomes.from_rows([{"variant": "h9|i0|l0"}]))),
        (InvalidLogs, lambda: Outcomes.from_rows([{"variant": "h0|i0|l0", "impressions": -1}])),
        (InvalidLogs, lambda: Outcomes.from_rows([{"variant": "h0|i0|l0", "clicks": 2}])),
        (InvalidLogs, lambda: Outcomes.from_rows([{"variant": "h0|i0|l0",
                                                   "impressions": 1.5}])),
        (InvalidLogs, lambda: Outcomes.from_rows([{"clicks": 1}])),
        (InvalidLogs, lambda: Outcomes.from_rows([])),
        (InvalidLogs, lambda: GRID.options("h0|i0")),
        (InvalidLogs, lambda: Selector(GRID, "contextual", context=DEVICES).choose()),
        (InvalidLogs, lambda: Selector(GRID, "contextual", context=DEVICES)
         .choose({"browser": "x"})),
        (InvalidLogs, lambda: Selector(GRID, "contextual", context=DEVICES).choose("mobile")),
        (InvalidLogs, lambda: Outcomes.from_rows(["h0|i0|l0"])),
        (InvalidExperiment, lambda: Selector(GRID, "softmax")),
        (InvalidExperiment, lambda: Selector.from_dict(
            {**Selector(GRID, "mvt").to_dict(), "kind": "thompson"})),
        (InvalidExperiment, lambda: Selector(GRID, "thompson", reward="revenue")),
        (InvalidExperiment, lambda: Selector(GRID, "contextual")),
        (InvalidExperiment, lambda: Selector(GRID, "thompson", draws=10)),
        (InvalidExperiment, lambda: Grid.of({"headline": ["a", "a"]})),
        (InvalidExperiment, lambda: Grid.of({"headline": ["a|b"]})),
        (InvalidExperiment, lambda: Grid.of({})),
        (InvalidExperiment, lambda: Selector.from_dict(
            {**Selector(GRID, "mvt").to_dict(), "grid": {"factors": [["headline", ["x"]]]}})),
    ]
    for error, call in cases:
        with pytest.raises(error) as caught:
            call()
        assert caught.value.code == error.code
