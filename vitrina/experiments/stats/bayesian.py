"""Bayesian comparison: chance to beat the control, expected loss, credible interval.

``bayesian_test`` is gbstats' ``EffectBayesianABTest``: a normal likelihood for the
effect (relative or absolute, with the same delta-method variance as the
frequentist test) and an optional normal prior on it, flat by default. The prior
is given on the scale of the effect (gbstats can also rescale a prior given on the
other scale). It equals gbstats to 1e-6 on the same statistics; an uncomputable
result is a status and ``None`` (gbstats reports a 50% chance to win).

``beta_binomial`` is an exact model for proportions, not in gbstats: independent
Beta posteriors per arm, P(p_b > p_a) and the expected losses computed by
quadrature over the control's quantiles (checked against the closed form).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special
from scipy import stats as sps

from vitrina.experiments.stats.arms import arms
from vitrina.experiments.stats.frequentist import effect_and_variance
from vitrina.experiments.stats.results import BayesianEstimate, ResultStatus
from vitrina.experiments.stats.statistics import Proportion, Statistic


@dataclass(frozen=True)
class NormalPrior:
    mean: float = 0.0
    variance: float = 1.0


def posterior_kernel(g: dict, relative: bool, alpha: float, prior: NormalPrior | None,
                     inverse: bool = False) -> dict:
    data_mean, data_var = effect_and_variance(g, relative)
    if prior is None:
        precision, mean = 1 / data_var, data_mean
    else:
        precision = 1 / data_var + 1 / prior.variance
        mean = (data_mean / data_var + prior.mean / prior.variance) / precision
    sd = np.sqrt(1 / precision)
    z = mean / sd
    win = sps.norm.cdf(z)
    # expected loss of shipping control (missing a gain) and treatment (taking a loss)
    risk_control = mean * sps.norm.cdf(z) + sd * sps.norm.pdf(z)
    risk_treatment = sd * sps.norm.pdf(z) - mean * sps.norm.cdf(-z)
    if inverse:
        win, risk_control, risk_treatment = 1 - win, risk_treatment, risk_control
    q = sps.norm.ppf(1 - alpha / 2)
    return {"effect": mean, "stderr": sd, "ci_low": mean - q * sd, "ci_high": mean + q * sd,
            "chance_to_win": win, "risk_control": risk_control,
            "risk_treatment": risk_treatment}


def bayesian_test(a: Statistic, b: Statistic, *, relative: bool = True, alpha: float = 0.05,
                  prior: NormalPrior | None = None, inverse: bool = False) -> BayesianEstimate:
    """``inverse`` for metrics where lower is better (the chance to win and the
    risks then refer to a decrease)."""
    x = arms(a, b, relative)
    if isinstance(x, ResultStatus):
        return BayesianEstimate(x, "bayesian_normal", relative, alpha)
    v = posterior_kernel(x.__dict__, relative, alpha, prior, inverse)
    return BayesianEstimate(ResultStatus.OK, "bayesian_normal", relative, alpha, x.raw_a, x.raw_b,
                            **{k: float(val) for k, val in v.items()})


def beta_binomial(a: Proportion, b: Proportion, *, prior: tuple[float, float] = (1.0, 1.0),
                  alpha: float = 0.05, nodes: int = 400) -> BayesianEstimate:
    """Absolute difference of two proportions under Beta(prior) priors."""
    if a.n == 0 or b.n == 0:
        return BayesianEstimate(ResultStatus.NO_UNITS, "beta_binomial", False, alpha)
    a_post = (prior[0] + a.sum, prior[1] + a.n - a.sum)
    b_post = (prior[0] + b.sum, prior[1] + b.n - b.sum)
    # Gauss-Legendre nodes in the control's quantile space: exact-enough whatever
    # the posteriors' width
    u, w = np.polynomial.legendre.leggauss(nodes)
    u, w = (u + 1) / 2, w / 2
    x = sps.beta.ppf(u, *a_post)
    win = float(np.sum(w * sps.beta.sf(x, *b_post)))
    mean_a = a_post[0] / sum(a_post)
    mean_b = b_post[0] / sum(b_post)
    # E[max(p_b - p_a, 0)] = E_a[ E[p_b 1{p_b > x}] - x P(p_b > x) ]
    partial_b = mean_b * sps.beta.sf(x, b_post[0] + 1, b_post[1])
    risk_control = float(np.sum(w * (partial_b - x * sps.beta.sf(x, *b_post))))
    risk_treatment = risk_control - (mean_b - mean_a)
    var = (sps.beta.var(*a_post) + sps.beta.var(*b_post))
    sd = float(np.sqrt(var))
    q = float(sps.norm.ppf(1 - alpha / 2))
    diff = float(mean_b - mean_a)
    return BayesianEstimate(ResultStatus.OK, "beta_binomial", False, alpha, a.mean, b.mean,
                            diff, sd, diff - q * sd, diff + q * sd, win, risk_control,
                            risk_treatment)


def beta_win_probability_exact(a_post: tuple[int, int], b_post: tuple[int, int]) -> float:
    """Closed form of P(p_b > p_a) for integer Beta parameters (Evan Miller's sum);
    O(alpha_b) terms, a reference for :func:`beta_binomial`."""
    (aa, ba), (ab, bb) = a_post, b_post
    i = np.arange(ab)
    terms = (special.betaln(aa + i, ba + bb) - np.log(bb + i) - special.betaln(1 + i, bb)
             - special.betaln(aa, ba))
    return float(np.sum(np.exp(terms)))
