"""Off-policy evaluation: IPS, SNIPS, DM and DR estimates with confidence intervals,
for one action per round and for rankings logged position by position (``slates``)."""

from vitrina.experiments.ope.estimators import ESTIMATORS, PolicyValue, estimate, evaluate
from vitrina.experiments.ope.feedback import LoggedFeedback, load_open_bandit_csv
from vitrina.experiments.ope.logistic import LogisticRewardModel
from vitrina.experiments.ope.reward_models import RewardModel, TabularRewardModel
from vitrina.experiments.ope.slates import SlateEstimate, SlateLogs, difference, estimate_ranking

__all__ = [
    "ESTIMATORS",
    "LoggedFeedback",
    "LogisticRewardModel",
    "PolicyValue",
    "RewardModel",
    "SlateEstimate",
    "SlateLogs",
    "TabularRewardModel",
    "difference",
    "estimate",
    "estimate_ranking",
    "evaluate",
    "load_open_bandit_csv",
]
