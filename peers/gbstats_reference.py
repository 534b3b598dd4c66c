"""Reference values from GrowthBook's stats engine (gbstats 0.8.0).

Run in peers/.venv-gbstats (see make_references.sh); writes
tests/experiments/reference/gbstats.json: summary statistics (in Vitrina's
``to_dict`` layout) and gbstats' frequentist, sequential and Bayesian results on
them, plus SRM p-values. Inputs come from seeded simulations and hand-made edge
cases (zero baseline, zero variance, too few units).
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from importlib.metadata import version
from pathlib import Path

import numpy as np
from gbstats.bayesian.tests import EffectBayesianABTest, EffectBayesianConfig, GaussianPrior
from gbstats.frequentist.tests import (
    FrequentistConfig,
    SequentialConfig,
    SequentialTwoSidedTTest,
    TwoSidedTTest,
)
from gbstats.models.statistics import (
    ProportionStatistic,
    RatioStatistic,
    RegressionAdjustedStatistic,
    SampleMeanStatistic,
)
from gbstats.utils import check_srm

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "tests" / "experiments" / "reference" / "gbstats.json"


def moment(kind: str, x: np.ndarray) -> dict:
    if kind == "proportion":
        return {"type": "proportion", "n": len(x), "sum": float(x.sum())}
    return {"type": "mean", "n": len(x), "sum": float(x.sum()),
            "sum_squares": float((x * x).sum())}


def simulate(rng: np.random.RandomState, kind: str, n: int, lift: float) -> dict:
    if kind == "proportion":
        return moment(kind, (rng.rand(n) < 0.08 * (1 + lift)).astype(float))
    if kind == "mean":
        return moment(kind, rng.lognormal(1.0, 1.2, n) * (1 + lift))
    if kind == "ratio":
        views = rng.poisson(5, n).astype(float) + 1
        clicks = rng.binomial(views.astype(int), 0.1 * (1 + lift)).astype(float)
        return {"type": "ratio", "numerator": moment("mean", clicks),
                "denominator": moment("mean", views),
                "sum_products": float((clicks * views).sum())}
    pre = rng.gamma(2.0, 10.0, n)
    post = 0.8 * pre + rng.normal(5.0, 8.0, n) * (1 + lift) + 5 * lift
    return {"type": "adjusted", "post": moment("mean", post), "pre": moment("mean", pre),
            "sum_products": float((post * pre).sum())}


def to_gbstats(d: dict):
    if d["type"] == "proportion":
        return ProportionStatistic(n=d["n"], sum=d["sum"])
    if d["type"] == "mean":
        return SampleMeanStatistic(n=d["n"], sum=d["sum"], sum_squares=d["sum_squares"])
    if d["type"] == "ratio":
        return RatioStatistic(n=d["numerator"]["n"], m_statistic=to_gbstats(d["numerator"]),
                              d_statistic=to_gbstats(d["denominator"]),
                              m_d_sum_of_products=d["sum_products"])
    return RegressionAdjustedStatistic(n=d["post"]["n"], post_statistic=to_gbstats(d["post"]),
                                       pre_statistic=to_gbstats(d["pre"]),
                                       post_pre_sum_of_products=d["sum_products"], theta=0)


def run(a: dict, b: dict) -> dict:
    out = {}
    for diff in ("relative", "absolute"):
        res = TwoSidedTTest(to_gbstats(a), to_gbstats(b),
                            FrequentistConfig(difference_type=diff, alpha=0.05)).compute_result()
        out[f"welch_{diff}"] = asdict(res)
        for tuning in (5000.0, 1000.0):
            res = SequentialTwoSidedTTest(
                to_gbstats(a), to_gbstats(b),
                SequentialConfig(difference_type=diff, alpha=0.05,
                                 sequential_tuning_parameter=tuning)).compute_result()
            out[f"sequential_{diff}_{int(tuning)}"] = asdict(res)
        priors = {"flat": GaussianPrior(mean=0, variance=1, proper=False),
                  "proper": GaussianPrior(mean=0.01, variance=0.3**2, proper=True)}
        for pname, prior in priors.items():
            for inverse in (False, True):
                res = EffectBayesianABTest(
                    to_gbstats(a), to_gbstats(b),
                    EffectBayesianConfig(difference_type=diff, prior_type=diff, inverse=inverse,
                                         prior_effect=prior, alpha=0.05)).compute_result()
                out[f"bayesian_{diff}_{pname}{'_inverse' if inverse else ''}"] = asdict(res)
    return out


def cases() -> list[dict]:
    rng = np.random.RandomState(20240607)
    made = []
    for kind in ("proportion", "mean", "ratio", "adjusted"):
        for n, lift in ((200, 0.0), (3000, 0.05), (20000, 0.02), (50000, -0.03)):
            made.append({"id": f"{kind}_{n}_{lift}", "a": simulate(rng, kind, n, 0.0),
                         "b": simulate(rng, kind, int(n * 1.03), lift)})
    p = lambda n, s: {"type": "proportion", "n": n, "sum": s}
    made += [
        {"id": "edge_zero_baseline", "a": p(1000, 0.0), "b": p(1000, 10.0)},
        {"id": "edge_zero_variance", "a": p(1000, 1000.0), "b": p(1000, 1000.0)},
        {"id": "edge_one_unit", "a": {"type": "mean", "n": 1, "sum": 3.0, "sum_squares": 9.0},
         "b": {"type": "mean", "n": 50, "sum": 150.0, "sum_squares": 600.0}},
        {"id": "edge_big_proportion", "a": p(2_000_000, 61234.0), "b": p(2_000_000, 62500.0)},
    ]
    return made


SRM = [([500, 500], [0.5, 0.5]), ([100, 900], [0.5, 0.5]), ([1000, 1080], [0.5, 0.5]),
       ([5010, 4990, 10100], [0.25, 0.25, 0.5]), ([300, 700], [0.3, 0.7]),
       ([4900, 5210], [0.5, 0.5])]


def main() -> None:
    out = {
        "generator": "peers/gbstats_reference.py",
        "versions": {"gbstats": version("gbstats"), "numpy": np.__version__,
                     "python": sys.version},
        "cases": [{**c, "results": run(c["a"], c["b"])} for c in cases()],
        "srm": [{"counts": c, "weights": w, "p_value": float(check_srm(c, w))} for c, w in SRM],
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {OUT.relative_to(ROOT)}: {len(out['cases'])} cases, {len(out['srm'])} SRM")


if __name__ == "__main__":
    main()
