"""Targeting: conditions on unit attributes, for one unit or for columns of units.

A condition names an attribute, an operator and a value; an experiment's
conditions must all hold. A unit without the attribute matches no condition but
``not_exists``. Unknown operators are refused when the condition is made.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from vitrina.experiments.errors import InvalidExperiment

_MISSING = object()

_SCALAR: dict[str, Callable[[Any, Any], bool]] = {
    "eq": operator.eq,
    "ne": operator.ne,
    "gt": operator.gt,
    "gte": operator.ge,
    "lt": operator.lt,
    "lte": operator.le,
    "in": lambda x, v: x in v,
    "not_in": lambda x, v: x not in v,
    "exists": lambda x, v: True,
}

_VECTOR: dict[str, Callable[[np.ndarray, Any], np.ndarray]] = {
    "eq": lambda x, v: x == v,
    "ne": lambda x, v: x != v,
    "gt": lambda x, v: x > v,
    "gte": lambda x, v: x >= v,
    "lt": lambda x, v: x < v,
    "lte": lambda x, v: x <= v,
    "in": lambda x, v: np.isin(x, list(v)),
    "not_in": lambda x, v: ~np.isin(x, list(v)),
    "exists": lambda x, v: np.ones(len(x), dtype=bool),
}

OPERATORS = tuple(sorted([*_SCALAR, "not_exists"]))


@dataclass(frozen=True)
class Condition:
    attribute: str
    op: str
    value: Any = None

    def __post_init__(self) -> None:
        if self.op not in OPERATORS:
            raise InvalidExperiment(
                f"unknown targeting operator {self.op!r}", details={"allowed": list(OPERATORS)}
            )
        if not self.attribute:
            raise InvalidExperiment("a targeting condition needs an attribute")
        if self.op in ("in", "not_in"):
            if not isinstance(self.value, (list, tuple)):
                raise InvalidExperiment(f"operator {self.op!r} needs a list value")
            object.__setattr__(self, "value", tuple(self.value))

    def matches(self, attributes: Mapping[str, Any]) -> bool:
        x = attributes.get(self.attribute, _MISSING)
        if self.op == "not_exists":
            return x is _MISSING
        if x is _MISSING:
            return False
        try:
            return bool(_SCALAR[self.op](x, self.value))
        except TypeError:  # e.g. "abc" > 3: a mismatched type never matches
            return False

    def matches_many(self, columns: Mapping[str, np.ndarray], n: int) -> np.ndarray:
        column = columns.get(self.attribute)
        if self.op == "not_exists":
            return np.full(n, column is None)
        if column is None:
            return np.zeros(n, dtype=bool)
        column = np.asarray(column)
        if len(column) != n:
            raise InvalidExperiment(f"attribute column {self.attribute!r} has the wrong length")
        try:
            return np.asarray(_VECTOR[self.op](column, self.value), dtype=bool)
        except TypeError:
            return np.zeros(n, dtype=bool)


def matches_all(conditions: tuple[Condition, ...], attributes: Mapping[str, Any] | None) -> bool:
    attrs = attributes or {}
    return all(c.matches(attrs) for c in conditions)


def matches_all_many(
    conditions: tuple[Condition, ...], columns: Mapping[str, np.ndarray] | None, n: int
) -> np.ndarray:
    mask = np.ones(n, dtype=bool)
    for c in conditions:
        mask &= c.matches_many(columns or {}, n)
    return mask
