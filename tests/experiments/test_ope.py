"""Off-policy estimates equal Open Bandit Pipeline's on the Open Bandit Dataset
sample (uniform-random logs -> Bernoulli TS policy), to 1e-6: point values and
the bootstrap intervals (reference made by peers/obp_reference.py)."""

from __future__ import annotations

import numpy as np
import pytest

from vitrina.experiments.errors import InvalidLogs
from vitrina.experiments.ope import (
    LoggedFeedback,
    TabularRewardModel,
    estimate,
    evaluate,
    load_open_bandit_csv,
)

from .conftest import close


@pytest.fixture(scope="module")
def logs(obd_random, obp_reference):
    fb = load_open_bandit_csv(obd_random)
    order = np.asarray(obp_reference["row_order"])  # obp sorts by timestamp
    return LoggedFeedback(fb.action[order], fb.reward[order], fb.pscore[order], fb.n_actions,
                          fb.position[order])


def test_reward_model_table_equals_the_peer_one(logs, obp_reference):
    q = TabularRewardModel().fit_predict(logs)
    assert np.allclose(q, np.asarray(obp_reference["q_table"]), rtol=0, atol=1e-12)


def test_estimates_equal_obp(logs, obp_reference):
    action_dist = np.asarray(obp_reference["action_dist"])
    assert action_dist.shape == (80, 3) and np.allclose(action_dist.sum(axis=0), 1.0)
    q = TabularRewardModel().fit_predict(logs)
    ours = evaluate(logs, action_dist, q)
    assert set(ours) == {"ips", "snips", "dm", "dr"}
    for name, theirs in obp_reference["estimates"].items():
        assert close(ours[name].value, theirs["value"]), name
        # the same tiled (n_rounds, n_actions, n_positions) form gives the same value
    tiled = np.broadcast_to(action_dist, (logs.n_rounds, 80, 3))
    assert close(estimate("dr", logs, tiled, q).value, obp_reference["estimates"]["dr"]["value"])


def test_bootstrap_intervals_equal_obp(logs, obp_reference):
    action_dist = np.asarray(obp_reference["action_dist"])
    q = TabularRewardModel().fit_predict(logs)
    boot = obp_reference["bootstrap"]
    for name, theirs in obp_reference["estimates"].items():
        ours = estimate(name, logs, action_dist, q, interval="bootstrap", alpha=boot["alpha"],
                        n_bootstrap=boot["n_bootstrap_samples"], seed=boot["random_state"])
        assert close(ours.ci_low, theirs["ci_low"]) and close(ours.ci_high, theirs["ci_high"])


def test_normal_intervals_cover_the_on_policy_value(logs, obp_reference):
    """The BTS policy's own logs give its true click rate: every estimate's 95%
    interval from the random logs contains it (a weak but real check)."""
    action_dist = np.asarray(obp_reference["action_dist"])
    q = TabularRewardModel().fit_predict(logs)
    truth = obp_reference["on_policy_bts_ctr"]
    for name in ("ips", "snips", "dr"):
        result = estimate(name, logs, action_dist, q)
        assert result.ci_low < truth < result.ci_high, (name, result)
        assert result.ci_low < result.value < result.ci_high


def test_ips_is_unbiased_on_simulated_logs():
    rng = np.random.default_rng(3)
    n, k = 200_000, 4
    means = np.array([0.02, 0.05, 0.03, 0.08])
    logging = np.array([0.4, 0.3, 0.2, 0.1])
    action = rng.choice(k, n, p=logging)
    reward = (rng.random(n) < means[action]).astype(float)
    fb = LoggedFeedback(action, reward, logging[action], k)
    target = np.array([[0.1], [0.1], [0.1], [0.7]])
    truth = float(means @ target[:, 0])
    for name, result in evaluate(fb, target, TabularRewardModel().fit_predict(fb)).items():
        assert abs(result.value - truth) < 0.004, name
        if name != "dm":  # DM's interval is conditional on the model (see its docstring)
            assert result.ci_low < truth < result.ci_high, name


def test_bad_logs_are_refused(logs):
    with pytest.raises(InvalidLogs):
        LoggedFeedback(np.array([0, 1]), np.array([1.0, 0.0]), np.array([0.5, 0.0]), 2)
    with pytest.raises(InvalidLogs):
        LoggedFeedback(np.array([0, 3]), np.array([1.0, 0.0]), np.array([0.5, 0.5]), 2)
    with pytest.raises(InvalidLogs):
        estimate("dm", logs, np.full((80, 3), 1 / 80))
    with pytest.raises(InvalidLogs):
        estimate("magic", logs, np.full((80, 3), 1 / 80))
    with pytest.raises(InvalidLogs):
        estimate("ips", logs, np.full((79, 3), 1 / 79))
