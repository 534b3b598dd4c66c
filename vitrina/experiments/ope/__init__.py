"""Off-policy evaluation: IPS, SNIPS, DM and DR estimates with confidence intervals."""

from vitrina.experiments.ope.estimators import ESTIMATORS, PolicyValue, estimate, evaluate
from vitrina.experiments.ope.feedback import LoggedFeedback, load_open_bandit_csv
from vitrina.experiments.ope.reward_models import RewardModel, TabularRewardModel

__all__ = [
    "ESTIMATORS", "LoggedFeedback", "PolicyValue", "RewardModel", "TabularRewardModel",
    "estimate", "evaluate", "load_open_bandit_csv",
]
