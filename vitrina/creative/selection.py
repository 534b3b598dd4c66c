"""Choosing the creative variant to serve for a campaign's placement, and learning
from what its impressions did (decision 036).

A variant is one combination of a grid's options, e.g. (headline, image, layout);
its id joins them with ``|``. A ``Selector`` holds the grid and one policy:

- ``thompson``: Thompson sampling over the variants (the bandits library's; the
  propensity is its quadrature of the win probabilities);
- ``mvt``: the multivariate bandit over the factors (``vitrina.creative.mvt``);
- ``contextual``: LinUCB over context one-hots per variant (the bandits library's,
  with ``epsilon`` uniform exploration so every propensity stays positive);
- ``uniform``: the A/B split.

Every decision carries the probability it was made with; the state is JSON
(``to_dict``/``from_dict``) and a seed makes decisions reproducible.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from vitrina.creative.mvt import MultivariateThompson
from vitrina.experiments.bandits import Bandit, LinUCB, ThompsonBernoulli
from vitrina.experiments.bandits.base import BasePolicy, Decision
from vitrina.experiments.errors import InvalidExperiment, InvalidLogs

SEPARATOR = "|"
POLICIES = ("thompson", "mvt", "contextual", "uniform")
REWARDS = ("click", "conversion")


def _named_options(data: Any, what: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """{name: [option, ...]} or [(name, [option, ...]), ...] -> checked tuples."""
    items = list(data.items()) if isinstance(data, Mapping) else list(data)
    out = []
    for item in items:
        if not isinstance(item, (list, tuple)) or len(item) != 2 \
                or not isinstance(item[1], (list, tuple)):
            raise InvalidExperiment(f"each {what} is a name with a list of options")
        name, options = str(item[0]), tuple(str(o) for o in item[1])
        if not options or len(set(options)) != len(options):
            raise InvalidExperiment(f"{what} {name!r} needs one or more distinct options")
        if any(SEPARATOR in o for o in options):
            raise InvalidExperiment(f"options of {what} {name!r} may not contain "
                                    f"{SEPARATOR!r}")
        out.append((name, options))
    if not out or len({n for n, _ in out}) != len(out):
        raise InvalidExperiment(f"one or more distinct {what}s are needed")
    return tuple(out)


@dataclass(frozen=True)
class Grid:
    """The factors of a placement's creatives, e.g. headline x image x layout."""

    factors: tuple[tuple[str, tuple[str, ...]], ...]

    @classmethod
    def of(cls, factors: Any) -> Grid:
        return cls(_named_options(factors, "factor"))

    def __post_init__(self) -> None:
        sizes = tuple(len(options) for _, options in self.factors)
        codes = np.array(list(itertools.product(*(range(n) for n in sizes))), dtype=np.int64)
        ids = tuple(SEPARATOR.join(o for o in combo)
                    for combo in itertools.product(*(opts for _, opts in self.factors)))
        object.__setattr__(self, "sizes", sizes)
        object.__setattr__(self, "codes", codes)  # (n_variants, n_factors) option indices
        object.__setattr__(self, "ids", ids)
        object.__setattr__(self, "_index", {v: i for i, v in enumerate(ids)})

    def index(self, variant: str) -> int:
        if variant not in self._index:
            raise InvalidLogs(f"unknown variant {variant!r}")
        return self._index[variant]

    def options(self, variant: str) -> dict[str, str]:
        self.index(variant)
        return dict(zip((n for n, _ in self.factors), variant.split(SEPARATOR)))

    def index_of_codes(self, codes: np.ndarray) -> np.ndarray:
        """Row-major position of each row of option codes."""
        return np.ravel_multi_index(tuple(np.asarray(codes).T), self.sizes)

    def to_dict(self) -> dict[str, Any]:
        return {"factors": [[n, list(o)] for n, o in self.factors]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Grid:
        return cls.of(data.get("factors", ()))


@dataclass(frozen=True)
class ContextSpace:
    """Categorical context features, one-hot encoded after an intercept. A value not
    listed encodes as none of its feature's columns (it learns from the intercept)."""

    features: tuple[tuple[str, tuple[str, ...]], ...]

    @classmethod
    def of(cls, features: Any) -> ContextSpace:
        return cls(_named_options(features, "context feature"))

    @property
    def dim(self) -> int:
        return 1 + sum(len(v) for _, v in self.features)

    def encode(self, context: Mapping[str, Any]) -> np.ndarray:
        if not isinstance(context, Mapping):
            raise InvalidLogs("a context is an object of feature names and values")
        known = {n for n, _ in self.features}
        unknown = sorted(set(context) - known)
        if unknown:
            raise InvalidLogs(f"unknown context feature(s) {unknown}",
                              details={"allowed": sorted(known)})
        x, offset = np.zeros(self.dim), 1
        x[0] = 1.0
        for name, values in self.features:
            value = context.get(name)
            if value is not None and str(value) in values:
                x[offset + values.index(str(value))] = 1.0
            offset += len(values)
        return x

    def to_dict(self) -> dict[str, Any]:
        return {"features": [[n, list(v)] for n, v in self.features]}


@dataclass(frozen=True)
class Outcomes:
    """Logged rows of one placement: a variant, its impressions and, among them, how
    many were clicked and how many converted (and the context, for ``contextual``)."""

    variant: tuple[str, ...]
    impressions: np.ndarray
    clicks: np.ndarray
    conversions: np.ndarray
    context: tuple[Mapping[str, Any], ...] | None = None

    @classmethod
    def from_rows(cls, rows: Iterable[Mapping[str, Any]]) -> Outcomes:
        rows = list(rows)
        if not rows:
            raise InvalidLogs("no logged rows")
        if not all(isinstance(r, Mapping) for r in rows):
            raise InvalidLogs("each logged row is an object")
        try:
            counts = {k: np.array([r.get(k, 1 if k == "impressions" else 0) for r in rows])
                      for k in ("impressions", "clicks", "conversions")}
            variant = tuple(str(r["variant"]) for r in rows)
        except KeyError:
            raise InvalidLogs("every row names its variant") from None
        has_context = [r.get("context") is not None for r in rows]
        if any(has_context) and not all(has_context):
            raise InvalidLogs("either every row has a context or none has")
        context = tuple(r["context"] for r in rows) if all(has_context) else None
        return cls(variant, context=context, **counts)

    def __post_init__(self) -> None:
        n = len(self.variant)
        for name in ("impressions", "clicks", "conversions"):
            values = np.asarray(getattr(self, name))
            if values.shape != (n,):
                raise InvalidLogs(f"{name} must have one count per row")
            if values.dtype.kind not in "biuf" or not np.all(np.isfinite(values)) \
                    or np.any(values != np.round(values)):
                raise InvalidLogs(f"{name} must be whole numbers")
            if np.any(values < 0):
                raise InvalidLogs(f"{name} may not be negative")
            object.__setattr__(self, name, values.astype(np.int64))
        if np.any(self.clicks > self.impressions) or np.any(self.conversions > self.impressions):
            raise InvalidLogs("clicks and conversions are counted among the impressions: "
                              "neither may exceed them")
        if self.context is not None and len(self.context) != n:
            raise InvalidLogs("context must have one entry per row")


class Uniform(BasePolicy):
    """The A/B split: every variant with the same probability."""

    name = "uniform"

    def probabilities(self, context: np.ndarray | None = None) -> np.ndarray:
        return np.full(len(self.arms), 1 / len(self.arms))

    def choose(self, context: np.ndarray | None = None) -> Decision:
        return self.decide(self.probabilities())

    def update(self, arms: Sequence[str | int], rewards: Sequence[float],
               contexts: np.ndarray | None = None) -> None:
        self.batch(arms, rewards)  # still refuses bad logs

    def to_dict(self) -> dict[str, Any]:
        return self.common()


@dataclass(frozen=True)
class Choice:
    variant: str
    index: int
    options: dict[str, str]
    propensity: float
    policy: str

    def to_dict(self) -> dict[str, Any]:
        return {"variant": self.variant, "index": self.index, "options": dict(self.options),
                "propensity": self.propensity, "policy": self.policy}


class Selector:
    """One placement's grid and policy. ``options`` go to the policy: ``prior`` and
    ``discount`` for thompson; ``interactions``, ``prior_sd``, ``draws``,
    ``max_exhaustive``, ``restarts`` for mvt; ``alpha``, ``ridge``, ``epsilon`` for
    contextual."""

    def __init__(self, grid: Grid, policy: str = "thompson", *,
                 context: ContextSpace | None = None, reward: str = "click",
                 seed: int | None = None, **options: Any) -> None:
        if policy not in POLICIES:
            raise InvalidExperiment(f"unknown selection policy {policy!r}",
                                    details={"allowed": list(POLICIES)})
        if reward not in REWARDS:
            raise InvalidExperiment(f"unknown reward {reward!r}",
                                    details={"allowed": list(REWARDS)})
        if (policy == "contextual") != (context is not None):
            raise InvalidExperiment("the contextual policy, and only it, takes a context space")
        self.grid, self.kind, self.context, self.reward = grid, policy, context, reward
        self.policy = _make(policy, grid, context, seed, options)

    def _x(self, context: Mapping[str, Any] | None) -> np.ndarray | None:
        if self.context is None:
            return None
        if context is None:
            raise InvalidLogs("the contextual policy needs the request's context")
        return self.context.encode(context)

    def probabilities(self, context: Mapping[str, Any] | None = None) -> np.ndarray:
        """Chance of each variant (in ``grid.ids`` order) for this request."""
        return self.policy.probabilities(self._x(context))

    def choose(self, context: Mapping[str, Any] | None = None) -> Choice:
        d = self.policy.choose(self._x(context))
        return Choice(d.arm, d.index, self.grid.options(d.arm), d.propensity, self.kind)

    def learn(self, outcomes: Outcomes) -> None:
        """Fold in a batch: each impression is one Bernoulli trial of the reward."""
        idx = np.array([self.grid.index(v) for v in outcomes.variant], dtype=np.int64)
        if self.context is not None and outcomes.context is None:
            raise InvalidLogs("the contextual policy learns from rows with their context")
        hits = outcomes.clicks if self.reward == "click" else outcomes.conversions
        arms = np.repeat(idx, outcomes.impressions)
        # within each row: its hits first, then its misses
        start = np.repeat(np.cumsum(outcomes.impressions) - outcomes.impressions,
                          outcomes.impressions)
        rewards = (np.arange(len(arms)) - start < np.repeat(hits, outcomes.impressions))
        contexts = None
        if self.context is not None:
            rows = np.array([self.context.encode(c) for c in outcomes.context])
            contexts = np.repeat(rows, outcomes.impressions, axis=0)
        if len(arms):
            self.policy.update(arms.tolist(), rewards.astype(float), contexts)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "grid": self.grid.to_dict(), "reward": self.reward,
                "context": self.context.to_dict() if self.context else None,
                "policy": self.policy.to_dict()}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Selector:
        kind = data.get("kind")
        if kind not in POLICIES:
            raise InvalidExperiment(f"unknown selection policy {kind!r}",
                                    details={"allowed": list(POLICIES)})
        grid = Grid.from_dict(data.get("grid", {}))
        context = data.get("context")
        selector = cls(grid, kind, reward=data.get("reward", "click"),
                       context=ContextSpace.of(context.get("features", ())) if context else None)
        state = dict(data.get("policy", {}))
        if state.get("policy") != _STATE_NAMES[kind]:
            raise InvalidExperiment(f"the stored state is not a {kind} policy's")
        if list(state.get("arms", ())) != list(grid.ids):
            raise InvalidExperiment("the policy's state does not match its grid")
        selector.policy = _restore(kind, grid, state)
        return selector


def _make(kind: str, grid: Grid, context: ContextSpace | None, seed: int | None,
          options: dict[str, Any]) -> Bandit:
    try:
        if kind == "thompson":
            return ThompsonBernoulli(grid.ids, seed=seed, **options)
        if kind == "mvt":
            return MultivariateThompson(grid, seed=seed, **options)
        if kind == "contextual":
            options = {"alpha": 0.25, "epsilon": 0.05, **options}
            return LinUCB(grid.ids, context.dim, seed=seed, **options)
        return Uniform(grid.ids, seed=seed, **options)
    except TypeError as exc:  # an option the policy does not take
        raise InvalidExperiment(f"bad options for {kind}: {exc}") from None


#: the policy name each kind's state carries
_STATE_NAMES = {"thompson": "thompson", "mvt": "mvt", "contextual": "linucb",
                "uniform": "uniform"}


def _restore(kind: str, grid: Grid, state: dict[str, Any]) -> Bandit:
    if kind == "thompson":
        return ThompsonBernoulli.from_dict(state)
    if kind == "mvt":
        return MultivariateThompson.from_dict(state, grid)
    if kind == "contextual":
        return LinUCB.from_dict(state)
    return Uniform(grid.ids, seed=state.get("seed"))


@dataclass(frozen=True)
class CampaignRun:
    regret: float  # sum over impressions of (best rate - served rate), in its context
    clicks: np.ndarray  # 0/1 per impression
    choices: np.ndarray
    propensities: np.ndarray
    contexts: np.ndarray  # index into the contexts drawn from, per impression


def simulate(selector: Selector, rates: np.ndarray, rounds: int, *,
             contexts: Sequence[Mapping[str, Any]] | None = None, batch_size: int = 200,
             seed: int = 0) -> CampaignRun:
    """Serve ``rounds`` impressions against known click rates (one per variant, or one
    row per context, each context equally likely), learning every ``batch_size``."""
    rates = np.atleast_2d(np.asarray(rates, dtype=float))
    if rates.shape[1] != len(selector.grid.ids) or \
            rates.shape[0] != (len(contexts) if contexts is not None else 1):
        raise InvalidExperiment("rates need one row per context and one column per variant")
    rng = np.random.default_rng([seed, 0xC0FFEE])  # independent of the policy's seed
    which = rng.integers(len(rates), size=rounds)
    choices, propensities = np.empty(rounds, dtype=np.int64), np.empty(rounds)
    clicked = np.empty(rounds, dtype=np.int64)
    for start in range(0, rounds, batch_size):
        stop = min(start + batch_size, rounds)
        for t in range(start, stop):
            c = selector.choose(contexts[which[t]] if contexts is not None else None)
            choices[t], propensities[t] = c.index, c.propensity
            clicked[t] = rng.random() < rates[which[t], c.index]
        n = stop - start
        selector.learn(Outcomes(
            tuple(selector.grid.ids[i] for i in choices[start:stop]), np.ones(n, np.int64),
            clicked[start:stop], np.zeros(n, np.int64),
            tuple(contexts[i] for i in which[start:stop]) if contexts is not None else None))
    regret = float(np.sum(rates.max(axis=1)[which] - rates[which, choices]))
    return CampaignRun(regret, clicked, choices, propensities, which)
