"""Creative benchmark: cumulative regret of the selection policies against a uniform
A/B split on the same simulated campaigns (decision 036).

    .venv/bin/python bench/creative.py [--rounds 20000] [--seeds 3]   # ~40 s of CPU

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=20_000)
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args()
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
    print(f"creative regret bandit/uniform: "
          f"{means['3x3x2', 'thompson'] / means['3x3x2', 'uniform']:.2f}")


if __name__ == "__main__":
    main()
