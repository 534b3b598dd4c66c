"""CUPED: variance reduction with a pre-period covariate.

theta = cov(post, pre) / var(pre) is fitted on both arms pooled (as gbstats does:
the joint statistic of the two arms, so a treatment effect cannot leak into it);
each arm's adjusted mean is ``post - theta * pre`` and its variance
``var(post) + theta^2 var(pre) - 2 theta cov(post, pre)``. When the pooled pre or
post variance is zero, theta is 0 and the plain metric is analysed.
"""

from __future__ import annotations

from dataclasses import dataclass

from vitrina.experiments.stats.statistics import Adjusted, Moment, Proportion, SampleMean


def _joint(a: Moment, b: Moment) -> Moment:
    if isinstance(a, Proportion) and isinstance(b, Proportion):
        return Proportion(a.n + b.n, a.sum + b.sum)
    return SampleMean(a.n + b.n, a.sum + b.sum, a.sum_squares + b.sum_squares)


def theta(a: Adjusted, b: Adjusted) -> float:
    pre, post = _joint(a.pre, b.pre), _joint(a.post, b.post)
    if pre.variance <= 0 or post.variance <= 0:
        return 0.0
    n = a.n + b.n
    cov = (a.sum_products + b.sum_products - post.sum * pre.sum / n) / (n - 1)
    return cov / pre.variance


@dataclass(frozen=True)
class AdjustedArm:
    """One arm after adjustment: what the tests need."""

    n: int
    mean: float
    unadjusted_mean: float
    variance: float


def adjust(stat: Adjusted, theta_: float) -> AdjustedArm:
    if theta_ == 0.0:
        return AdjustedArm(stat.n, stat.post.mean, stat.post.mean, stat.post.variance)
    variance = 0.0
    if stat.n > 1:
        variance = (stat.post.variance + theta_**2 * stat.pre.variance
                    - 2 * theta_ * stat.covariance)
    return AdjustedArm(stat.n, stat.post.mean - theta_ * stat.pre.mean, stat.post.mean, variance)
