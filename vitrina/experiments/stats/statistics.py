"""Sufficient statistics of one variant for one metric, as frozen dataclasses that add up.

They follow gbstats' shapes so that the same summary numbers feed both engines:

- :class:`Proportion` (n units, ``sum`` converters): variance p(1-p);
- :class:`SampleMean` (n, sum, sum of squares): sample variance with n-1;
- :class:`Ratio` of two per-unit sums (delta method), with the sum of products;
- :class:`Adjusted` for CUPED: the metric ``post`` and its pre-period covariate
  ``pre`` with the sum of products (theta is fitted later, on both arms together).

Adding two statistics of the same kind pools their units (days, shards, dimensions).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from vitrina.experiments.errors import InvalidMetric


@dataclass(frozen=True)
class Proportion:
    n: int
    sum: float

    def __post_init__(self) -> None:
        if self.n < 0 or self.sum < 0 or self.sum > self.n:
            raise InvalidMetric(f"a proportion needs 0 <= sum <= n, got sum={self.sum} n={self.n}")

    @property
    def sum_squares(self) -> float:
        return self.sum

    @property
    def mean(self) -> float:
        return self.sum / self.n if self.n else 0.0

    @property
    def variance(self) -> float:
        return self.mean * (1.0 - self.mean)

    def __add__(self, other: Proportion) -> Proportion:
        _same(self, other)
        return Proportion(self.n + other.n, self.sum + other.sum)

    def to_dict(self) -> dict[str, Any]:
        return {"type": "proportion", "n": self.n, "sum": self.sum}


@dataclass(frozen=True)
class SampleMean:
    n: int
    sum: float
    sum_squares: float

    def __post_init__(self) -> None:
        if self.n < 0 or self.sum_squares < 0:
            raise InvalidMetric("a sample mean needs n >= 0 and sum_squares >= 0")

    @property
    def mean(self) -> float:
        return self.sum / self.n if self.n else 0.0

    @property
    def variance(self) -> float:
        if self.n <= 1:
            return 0.0
        return (self.sum_squares - self.sum**2 / self.n) / (self.n - 1)

    def __add__(self, other: SampleMean) -> SampleMean:
        _same(self, other)
        return SampleMean(self.n + other.n, self.sum + other.sum,
                          self.sum_squares + other.sum_squares)

    def to_dict(self) -> dict[str, Any]:
        return {"type": "mean", "n": self.n, "sum": self.sum, "sum_squares": self.sum_squares}


Moment = Proportion | SampleMean


def _covariance(n: int, sum_products: float, a: Moment, b: Moment) -> float:
    if n <= 1:
        return 0.0
    return (sum_products - a.sum * b.sum / n) / (n - 1)


@dataclass(frozen=True)
class Ratio:
    """Sum of a numerator per unit over sum of a denominator per unit (e.g. clicks
    per impression, revenue per order); units stay the randomisation unit."""

    numerator: Moment
    denominator: Moment
    sum_products: float

    def __post_init__(self) -> None:
        if self.numerator.n != self.denominator.n:
            raise InvalidMetric("a ratio's numerator and denominator must count the same units")

    @property
    def n(self) -> int:
        return self.numerator.n

    @property
    def mean(self) -> float:
        return self.numerator.sum / self.denominator.sum if self.denominator.sum else 0.0

    @property
    def covariance(self) -> float:
        return _covariance(self.n, self.sum_products, self.numerator, self.denominator)

    @property
    def variance(self) -> float:
        """Per-unit variance of the ratio by the delta method."""
        m, d = self.numerator, self.denominator
        if d.mean == 0 or self.n <= 1:
            return 0.0
        return (m.variance / d.mean**2 - 2 * self.covariance * m.mean / d.mean**3
                + m.mean**2 * d.variance / d.mean**4)

    def __add__(self, other: Ratio) -> Ratio:
        _same(self, other)
        return Ratio(self.numerator + other.numerator, self.denominator + other.denominator,
                     self.sum_products + other.sum_products)

    def to_dict(self) -> dict[str, Any]:
        return {"type": "ratio", "numerator": self.numerator.to_dict(),
                "denominator": self.denominator.to_dict(), "sum_products": self.sum_products}


@dataclass(frozen=True)
class Adjusted:
    """A metric with its pre-exposure covariate, for CUPED."""

    post: Moment
    pre: Moment
    sum_products: float

    def __post_init__(self) -> None:
        if self.post.n != self.pre.n:
            raise InvalidMetric("CUPED post and pre statistics must count the same units")

    @property
    def n(self) -> int:
        return self.post.n

    @property
    def mean(self) -> float:
        """The unadjusted mean; adjusted means need theta (see :mod:`.cuped`)."""
        return self.post.mean

    @property
    def variance(self) -> float:
        return self.post.variance

    @property
    def covariance(self) -> float:
        return _covariance(self.n, self.sum_products, self.post, self.pre)

    def __add__(self, other: Adjusted) -> Adjusted:
        _same(self, other)
        return Adjusted(self.post + other.post, self.pre + other.pre,
                        self.sum_products + other.sum_products)

    def to_dict(self) -> dict[str, Any]:
        return {"type": "adjusted", "post": self.post.to_dict(), "pre": self.pre.to_dict(),
                "sum_products": self.sum_products}


Statistic = Proportion | SampleMean | Ratio | Adjusted


def _same(a: object, b: object) -> None:
    if type(a) is not type(b):
        raise InvalidMetric(f"cannot add {type(a).__name__} and {type(b).__name__}")


def statistic_from_dict(data: dict[str, Any]) -> Statistic:
    kind = data.get("type")
    try:
        if kind == "proportion":
            return Proportion(int(data["n"]), float(data["sum"]))
        if kind == "mean":
            return SampleMean(int(data["n"]), float(data["sum"]), float(data["sum_squares"]))
        if kind == "ratio":
            return Ratio(_moment(data["numerator"]), _moment(data["denominator"]),
                         float(data["sum_products"]))
        if kind == "adjusted":
            return Adjusted(_moment(data["post"]), _moment(data["pre"]),
                            float(data["sum_products"]))
    except KeyError as exc:
        raise InvalidMetric(f"statistic of type {kind!r} misses {exc}") from None
    raise InvalidMetric(f"unknown statistic type {kind!r}")


def _moment(data: dict[str, Any]) -> Moment:
    stat = statistic_from_dict(data)
    if not isinstance(stat, (Proportion, SampleMean)):
        raise InvalidMetric("ratio and CUPED parts must be proportions or sample means")
    return stat


def is_finite(x: float) -> bool:
    return isinstance(x, (int, float)) and math.isfinite(x)
