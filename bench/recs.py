"""Recommender leaderboard on MovieLens-100K, run on demand (not part of `make test`).

Every registered model is fitted on the same split (by default a temporal split:
train before the 80th percentile of the ratings' times, test after; decision 028)
and measured by the same code: NDCG@10, recall@10, MAP@10 over warm test users, full
ranking with training items excluded, then catalogue coverage, popularity percentile,
novelty, training time, and batched recommendations per second. Beside them, ALS run
directly through `implicit` (same factors, regularisation, alpha, iterations and
split; implicit's own `recommend` with already-liked items filtered; the same metric
code), so our wrapper's ranking can be compared with the library's.

The closing lines: `recs best/implicit-als ndcg@10: N.NN` (the best model's NDCG@10
over the direct implicit ALS's) and `recs batch recommendations/s: N` (users per
second through `recommend` in batches of --batch-size, the best model, every user).

    .venv/bin/python bench/recs.py
    .venv/bin/python bench/recs.py --split leave-last-out
    .venv/bin/python bench/recs.py --quantile 0.5 --factors 64
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from vitrina.recs.data import Interactions, movielens_100k, movielens_item_vectors
from vitrina.recs.evaluation import (
    Result,
    Split,
    evaluate,
    leaderboard,
    leave_last_out,
    temporal_split,
)
from vitrina.recs.models.base import top_k
from vitrina.testing import make_registries


class RandomScores:
    name = "random"

    def fit(self, data: Interactions) -> RandomScores:
        self.n_items = data.n_items
        return self

    def recommend(self, users, k, exclude=None):
        rng = np.random.default_rng(0)
        return top_k(rng.random((len(users), self.n_items)), k, exclude)


class DirectImplicitALS:
    """implicit's AlternatingLeastSquares fitted and asked directly (its own ranking)."""

    name = "implicit-als"

    def __init__(self, factors: int, regularization: float, alpha: float, iterations: int,
                 seed: int) -> None:
        self.params = {"factors": factors, "regularization": regularization, "alpha": alpha,
                       "iterations": iterations, "random_state": seed, "num_threads": 1}

    def fit(self, data: Interactions) -> DirectImplicitALS:
        from implicit.cpu.als import AlternatingLeastSquares
        from threadpoolctl import threadpool_limits

        self.user_items = data.user_items.astype(np.float32).tocsr()
        with threadpool_limits(limits=1, user_api="blas"):
            self.model = AlternatingLeastSquares(**self.params)
            self.model.fit(self.user_items, show_progress=False)
        return self

    def recommend(self, users, k, exclude=None):
        users = np.asarray(users)
        ids, scores = self.model.recommend(users, self.user_items[users], N=k,
                                           filter_already_liked_items=True)
        return np.atleast_2d(ids), np.atleast_2d(scores)


def models(args: argparse.Namespace) -> list:
    from vitrina.recs.models.content import ContentBased
    from vitrina.recs.models.neighbours import EASE, ItemKNN
    from vitrina.recs.models.popularity import Popularity

    params = {
        "popularity": {"half_life_days": 30.0},
        "covisitation": {"window": 3, "recent": 5, "decay": 0.7},
        "item-knn": {"neighbours": 50, "shrink": 0.0},
        "ease": {"lam": 250.0},
        "als": {"factors": args.factors, "regularization": args.regularization, "alpha": args.alpha,
                "iterations": args.iterations, "seed": args.seed},
        "bpr": {"factors": args.factors, "iterations": 100, "seed": args.seed},
        "content": {},
    }
    out: list = [RandomScores()]
    for cls in make_registries().recommenders:
        if cls.name == "hybrid":
            out.append(cls([(EASE(), 1.0), (ItemKNN(), 0.5), (Popularity(), 0.3), (ContentBased(), 0.1)]))
        elif cls.name in params:
            out.append(cls(**params[cls.name]))
        else:
            print(f"(no bench parameters for {cls.name}: defaults)")
            out.append(cls())
    out.append(Popularity(half_life_days=None))
    out[-1].label = "popularity-all-time"
    return out


def batch_rate(model, split: Split, batch_size: int) -> float:
    users = np.arange(split.train.n_users)
    exclude = split.train.user_items
    started = time.perf_counter()
    for start in range(0, len(users), batch_size):
        batch = users[start:start + batch_size]
        model.recommend(batch, 10, exclude[batch])
    return len(users) / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--split", choices=["temporal", "leave-last-out"], default="temporal")
    parser.add_argument("--quantile", type=float, default=0.8, help="temporal cut: this quantile of time")
    parser.add_argument("--factors", type=int, default=64)
    parser.add_argument("--regularization", type=float, default=0.05)
    parser.add_argument("--alpha", type=float, default=2.0)
    parser.add_argument("--iterations", type=int, default=15)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--batch-size", type=int, default=256)
    args = parser.parse_args()

    data = Interactions.from_table(movielens_100k())
    data = data.with_item_vectors(movielens_item_vectors(data.item_ids))
    split = temporal_split(data, quantile=args.quantile) if args.split == "temporal" else leave_last_out(data)
    warm, cold = split.warm_and_cold()
    print(f"MovieLens-100K (ratings >= 4): {data.n_users} users, {data.n_items} items, {len(data)} rows")
    print(f"split {split.name}: {len(split.train)} train rows, {len(split.test)} test rows; "
          f"{len(warm)} warm test users, {len(cold)} cold")

    results: list[Result] = []
    rates: dict[str, float] = {}
    fitted = {}
    for model in models(args):
        label = getattr(model, "label", model.name)
        result = evaluate(model, split, batch_size=args.batch_size, label=label)
        results.append(result)
        fitted[label] = model
        rates[label] = batch_rate(model, split, args.batch_size)
    direct = DirectImplicitALS(args.factors, args.regularization, args.alpha, args.iterations, args.seed)
    results.append(evaluate(direct, split, batch_size=args.batch_size))
    rates["implicit-als"] = batch_rate(direct, split, args.batch_size)

    print()
    print(leaderboard(results))
    print()
    print(f"recommendations/s (every user, batches of {args.batch_size}):")
    for r in results:
        print(f"  {r.model:<22} {rates[r.model]:>10.0f}")
    if len(cold):
        print("cold test users (no training rows), ndcg@10 (a model with nothing to go on ties "
              "every item, so its figure is the item order's):")
        for r in results:
            print(f"  {r.model:<22} {r.metrics.get('cold_ndcg@10', float('nan')):.4f}")

    ours = [r for r in results if r.model not in ("implicit-als", "random")]
    best = max(ours, key=lambda r: r.metrics["ndcg@10"])
    ref = next(r for r in results if r.model == "implicit-als")
    ours_als = next(r for r in results if r.model == "als")
    print()
    print(f"best: {best.model} ndcg@10 {best.metrics['ndcg@10']:.4f}; als (ours) "
          f"{ours_als.metrics['ndcg@10']:.4f}; implicit-als {ref.metrics['ndcg@10']:.4f}")
    print(f"recs best/implicit-als ndcg@10: {best.metrics['ndcg@10'] / ref.metrics['ndcg@10']:.2f}")
    print(f"recs batch recommendations/s: {rates[best.model]:.0f}")


if __name__ == "__main__":
    main()
