"""Statistics for experiments: sufficient statistics and the tests over them."""

from vitrina.experiments.stats.bayesian import NormalPrior, bayesian_test, beta_binomial
from vitrina.experiments.stats.corrections import holm
from vitrina.experiments.stats.frequentist import two_proportion_ztest, welch_test
from vitrina.experiments.stats.guardrails import Guardrail, GuardrailResult, GuardrailStatus
from vitrina.experiments.stats.results import BayesianEstimate, Estimate, ResultStatus
from vitrina.experiments.stats.sequential import sequential_test
from vitrina.experiments.stats.srm import SrmCheck, SrmStatus, srm_check
from vitrina.experiments.stats.statistics import (
    Adjusted,
    Proportion,
    Ratio,
    SampleMean,
    Statistic,
    statistic_from_dict,
)

__all__ = [
    "Adjusted", "BayesianEstimate", "Estimate", "Guardrail", "GuardrailResult",
    "GuardrailStatus", "NormalPrior", "Proportion", "Ratio", "ResultStatus", "SampleMean",
    "SrmCheck", "SrmStatus", "Statistic", "bayesian_test", "beta_binomial", "holm",
    "sequential_test", "srm_check", "statistic_from_dict", "two_proportion_ztest",
    "welch_test",
]
