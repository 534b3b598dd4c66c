"""A multivariate bandit over factor combinations, after Hill et al., "An Efficient
Bandit Algorithm for Realtime Multivariate Optimization" (KDD 2017).

The click rate of a combination is modelled as logistic in the one-hots of its
options (headline, image, layout) and, optionally, of every pair of factors. The
posterior of the weights is a Laplace approximation (Newton to the MAP under a
Gaussian prior; covariance: the inverse Hessian there). Each update draws ``draws``
weight vectors from it and finds each draw's best combination: exhaustively when the
grid has at most ``max_exhaustive`` combinations, else by greedy hill-climbing over
factors with restarts, as the paper does. The share of draws won by each combination
is the policy's distribution, and a decision samples from that distribution (one of
the draws, uniformly): the logged propensity is therefore exactly the probability the
decision was made with. The Monte Carlo error is in how closely that distribution
follows exact Thompson sampling: about sqrt(p (1 - p) / draws) per combination.

The likelihood depends on a combination only through its impressions and clicks, so
those counts are the whole state; the posterior is refitted from them on update.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import combinations
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy.special import expit

from vitrina.experiments.bandits.base import BasePolicy, Decision
from vitrina.experiments.errors import InvalidExperiment, InvalidLogs

if TYPE_CHECKING:
    from vitrina.creative.selection import Grid

#: the intercept is shared by every combination: a wide prior, it never decides
INTERCEPT_SD = 10.0


class Features:
    """Column offsets of the intercept, each factor's options and each pair's cells."""

    def __init__(self, sizes: Sequence[int], interactions: bool) -> None:
        self.sizes = tuple(int(s) for s in sizes)
        offset = 1
        self.main = []
        for n in self.sizes:
            self.main.append(offset)
            offset += n
        self.pairs = []
        if interactions:
            for f, g in combinations(range(len(self.sizes)), 2):
                self.pairs.append((f, g, offset))
                offset += self.sizes[f] * self.sizes[g]
        self.dim = offset

    def columns(self, codes: np.ndarray) -> np.ndarray:
        """(..., n_factors) option codes -> (..., n_active) active column indices."""
        cols = [np.zeros(codes.shape[:-1], dtype=np.int64)]
        cols += [start + codes[..., f] for f, start in enumerate(self.main)]
        cols += [start + codes[..., f] * self.sizes[g] + codes[..., g]
                 for f, g, start in self.pairs]
        return np.stack(cols, axis=-1)

    def matrix(self, codes: np.ndarray) -> np.ndarray:
        x = np.zeros((len(codes), self.dim))
        np.put_along_axis(x, self.columns(codes), 1.0, axis=1)
        return x


class MultivariateThompson(BasePolicy):
    name = "mvt"

    def __init__(self, grid: Grid, *, interactions: bool = True, prior_sd: float = 1.0,
                 draws: int = 2000, max_exhaustive: int = 4096, restarts: int = 5,
                 discount: float = 1.0, seed: int | None = None) -> None:
        super().__init__(grid.ids, discount=discount, seed=seed)
        if not prior_sd > 0 or draws < 1 or max_exhaustive < 0 or restarts < 1:
            raise InvalidExperiment("mvt needs prior_sd > 0, draws >= 1, max_exhaustive >= 0, "
                                    "restarts >= 1")
        self.grid = grid
        self.interactions, self.prior_sd = bool(interactions), float(prior_sd)
        self.draws, self.max_exhaustive, self.restarts = int(draws), int(max_exhaustive), \
            int(restarts)
        self.features = Features(grid.sizes, self.interactions)
        self.x = self.features.matrix(grid.codes)
        self.precision = np.full(self.features.dim, 1 / self.prior_sd ** 2)
        self.precision[0] = 1 / INTERCEPT_SD ** 2
        self.trials = np.zeros(len(self.arms))
        self.successes = np.zeros(len(self.arms))
        self._probs: np.ndarray | None = None
        self._map = np.zeros(self.features.dim)

    # -- the posterior ---------------------------------------------------------------

    def posterior(self) -> tuple[np.ndarray, np.ndarray]:
        """Laplace approximation: (MAP weights, Cholesky factor of the covariance)."""
        w = self._map.copy()  # warm start: a batch moves the MAP a little
        for _ in range(100):
            p = expit(self.x @ w)
            grad = self.x.T @ (self.trials * p - self.successes) + self.precision * w
            hess = (self.x.T * (self.trials * p * (1 - p))) @ self.x + np.diag(self.precision)
            step = np.linalg.solve(hess, grad)
            w -= step
            if np.max(np.abs(step)) < 1e-9:
                break
        else:
            raise InvalidLogs("the multivariate model did not converge on these counts")
        self._map = w
        p = expit(self.x @ w)
        hess = (self.x.T * (self.trials * p * (1 - p))) @ self.x + np.diag(self.precision)
        return w, np.linalg.cholesky(np.linalg.inv(hess))

    def sample_weights(self, n: int, rng: np.random.Generator) -> np.ndarray:
        mean, chol = self.posterior()
        return mean + rng.standard_normal((n, len(mean))) @ chol.T

    # -- the search for each draw's best combination -----------------------------------

    def best(self, weights: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Index of each weight draw's best combination."""
        if len(self.arms) <= self.max_exhaustive:
            return np.argmax(weights @ self.x.T, axis=1)
        return self.hill_climb(weights, rng)

    def hill_climb(self, weights: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Greedy over factors: from a random start, set each factor in turn to its best
        option given the others, until a full pass changes nothing; best of restarts."""
        sizes = np.array(self.features.sizes)
        n = len(weights)
        w = np.repeat(weights, self.restarts, axis=0)
        codes = (rng.random((len(w), len(sizes))) * sizes).astype(np.int64)
        rows = np.arange(len(w))[:, None]
        for _ in range(4 * len(sizes) + 1):
            changed = False
            for f, size in enumerate(sizes):
                options = np.repeat(codes[:, None, :], size, axis=1)
                options[:, :, f] = np.arange(size)
                scores = w[rows, self.features.columns(options).reshape(len(w), -1)]
                scores = scores.reshape(len(w), size, -1).sum(axis=2)
                chosen = np.argmax(scores, axis=1)
                changed |= bool(np.any(chosen != codes[:, f]))
                codes[:, f] = chosen
            if not changed:
                break
        final = w[rows, self.features.columns(codes)].sum(axis=1).reshape(n, self.restarts)
        pick = codes.reshape(n, self.restarts, -1)[np.arange(n), np.argmax(final, axis=1)]
        return self.grid.index_of_codes(pick)

    # -- the Bandit interface ------------------------------------------------------------

    def probabilities(self, context: np.ndarray | None = None) -> np.ndarray:
        if self._probs is None:
            # seeded: the draws follow from the seed and the state, so a restored
            # policy gives the same propensities
            rng = self.rng if self.seed is None else \
                np.random.default_rng([self.seed, int(self.trials.sum())])
            winners = self.best(self.sample_weights(self.draws, rng), rng)
            self._probs = np.bincount(winners, minlength=len(self.arms)) / self.draws
        return self._probs

    def choose(self, context: np.ndarray | None = None) -> Decision:
        return self.decide(self.probabilities())

    def update(self, arms: Sequence[str | int], rewards: Sequence[float],
               contexts: np.ndarray | None = None) -> None:
        idx, r = self.batch(arms, rewards)
        if np.any((r < 0) | (r > 1)):
            raise InvalidLogs("Bernoulli rewards must lie in [0, 1]")
        factor = self.decay(len(idx))
        self.trials = self.trials * factor + np.bincount(idx, minlength=len(self.arms))
        self.successes = self.successes * factor + np.bincount(idx, r, len(self.arms))
        self._probs = None

    def to_dict(self) -> dict[str, Any]:
        return {**self.common(), "interactions": self.interactions, "prior_sd": self.prior_sd,
                "draws": self.draws, "max_exhaustive": self.max_exhaustive,
                "restarts": self.restarts,
                "state": {"trials": self.trials.tolist(), "successes": self.successes.tolist()}}

    @classmethod
    def from_dict(cls, data: dict[str, Any], grid: Grid) -> MultivariateThompson:
        if list(data.get("arms", ())) != list(grid.ids):
            raise InvalidExperiment("mvt state does not match its grid")
        policy = cls(grid, interactions=data.get("interactions", True),
                     prior_sd=data.get("prior_sd", 1.0), draws=data.get("draws", 2000),
                     max_exhaustive=data.get("max_exhaustive", 4096),
                     restarts=data.get("restarts", 5), discount=data.get("discount", 1.0),
                     seed=data.get("seed"))
        state = data.get("state", {})
        trials = np.asarray(state.get("trials", policy.trials), dtype=float)
        successes = np.asarray(state.get("successes", policy.successes), dtype=float)
        if trials.shape != policy.trials.shape or successes.shape != trials.shape:
            raise InvalidExperiment("mvt state does not match its grid")
        policy.trials, policy.successes = trials, successes
        return policy
