"""What every bandit policy offers, and the registry of policies by name.

A policy chooses an arm for a request and says with which probability it did
(the propensity, logged with the decision so that any other policy can later be
evaluated off-policy on those logs); it learns from batches of logged rewards.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np

from vitrina.experiments.errors import InvalidExperiment, InvalidLogs


@dataclass(frozen=True)
class Decision:
    arm: str
    index: int
    propensity: float
    policy: str

    def to_dict(self) -> dict[str, Any]:
        return {"arm": self.arm, "index": self.index, "propensity": self.propensity,
                "policy": self.policy}


@runtime_checkable
class Bandit(Protocol):
    name: str
    arms: tuple[str, ...]

    def probabilities(self, context: np.ndarray | None = None) -> np.ndarray:
        """Chance of each arm being chosen for this context (sums to 1)."""

    def choose(self, context: np.ndarray | None = None) -> Decision: ...

    def update(self, arms: Sequence[str | int], rewards: Sequence[float],
               contexts: np.ndarray | None = None) -> None: ...

    def to_dict(self) -> dict[str, Any]: ...


class BasePolicy:
    """Shared plumbing: arm names, a seeded generator, batch checks, decisions."""

    name = "base"

    def __init__(self, arms: Sequence[str], *, discount: float = 1.0,
                 seed: int | None = None) -> None:
        arms = tuple(str(a) for a in arms)
        if not arms or len(set(arms)) != len(arms):
            raise InvalidExperiment("a bandit needs one or more distinct arms")
        if not 0 < discount <= 1:
            raise InvalidExperiment("discount must be in (0, 1]")
        self.arms = arms
        self.discount = float(discount)
        self.seed = seed
        self._index = {a: i for i, a in enumerate(arms)}
        self.rng = np.random.default_rng(seed)

    def indices(self, arms: Sequence[str | int]) -> np.ndarray:
        out = np.empty(len(arms), dtype=np.int64)
        for k, a in enumerate(arms):
            if isinstance(a, (int, np.integer)) and not isinstance(a, bool):
                i = int(a)
                if not 0 <= i < len(self.arms):
                    raise InvalidLogs(f"arm index {i} out of range")
            elif a in self._index:
                i = self._index[a]
            else:
                raise InvalidLogs(f"unknown arm {a!r}")
            out[k] = i
        return out

    def batch(self, arms: Sequence[str | int], rewards: Sequence[float]) -> tuple:
        idx = self.indices(arms)
        r = np.asarray(rewards, dtype=float)
        if r.shape != idx.shape:
            raise InvalidLogs("one reward per logged arm")
        if not np.all(np.isfinite(r)):
            raise InvalidLogs("rewards must be finite numbers")
        return idx, r

    def decay(self, n_events: int) -> float:
        """Factor applied to past evidence before a batch of ``n_events``: each
        logged event ages everything before it by ``discount``."""
        return self.discount ** n_events

    def decide(self, probs: np.ndarray, index: int | None = None) -> Decision:
        if index is None:
            cumulative = np.cumsum(probs)
            index = int(np.searchsorted(cumulative, self.rng.random() * cumulative[-1],
                                        side="right"))
            index = min(index, len(self.arms) - 1)
        return Decision(self.arms[index], index, float(probs[index]), self.name)

    def common(self) -> dict[str, Any]:
        return {"policy": self.name, "arms": list(self.arms), "discount": self.discount,
                "seed": self.seed}


def argmax_ties(scores: np.ndarray) -> np.ndarray:
    """Uniform probabilities over the arms tied at the top score."""
    best = scores >= np.max(scores) - 1e-12 * max(1.0, abs(float(np.max(scores))))
    return best / best.sum()


REGISTRY: dict[str, Callable[[dict[str, Any]], Bandit]] = {}


def register(name: str) -> Callable:
    def wrap(cls: type) -> type:
        if name in REGISTRY:
            raise RuntimeError(f"bandit policy {name!r} registered twice")
        cls.name = name
        REGISTRY[name] = cls.from_dict
        return cls
    return wrap


def bandit_from_dict(data: dict[str, Any]) -> Bandit:
    policy = data.get("policy")
    if policy not in REGISTRY:
        raise InvalidExperiment(f"unknown bandit policy {policy!r}",
                                details={"allowed": sorted(REGISTRY)})
    return REGISTRY[policy](data)
