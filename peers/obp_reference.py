"""Reference values from Open Bandit Pipeline (obp 0.4.1) on the Open Bandit Dataset
sample: logs of the uniform-random policy, evaluated policy = Bernoulli Thompson
sampling with ZOZOTOWN's production prior (obp's own example).

Run in peers/.venv-obp (see make_references.sh); writes
tests/experiments/reference/obp_ope.json. The evaluated policy's action
distribution and the reward model's table are stored with the estimates, so the
main test suite can recompute everything without obp.
"""

from __future__ import annotations

import json
import sys
from importlib.metadata import version
from pathlib import Path

import numpy as np
from obp.dataset import OpenBanditDataset
from obp.ope import (
    DirectMethod,
    DoublyRobust,
    InverseProbabilityWeighting,
    SelfNormalizedInverseProbabilityWeighting,
)
from obp.policy import BernoulliTS

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data" / "logs" / "open-bandit-dataset"
OUT = ROOT / "tests" / "experiments" / "reference" / "obp_ope.json"
SEED, N_SIM, N_BOOT, ALPHA = 12345, 100_000, 1000, 0.05


def tabular_q(action: np.ndarray, position: np.ndarray, reward: np.ndarray,
              n_actions: int, n_positions: int) -> np.ndarray:
    """Mean reward per (action, position); the position's mean where unseen."""
    sums = np.zeros((n_actions, n_positions))
    counts = np.zeros((n_actions, n_positions))
    np.add.at(sums, (action, position), reward)
    np.add.at(counts, (action, position), 1)
    pos_mean = sums.sum(axis=0) / np.maximum(counts.sum(axis=0), 1)
    q = np.tile(pos_mean, (n_actions, 1))
    seen = counts > 0
    q[seen] = sums[seen] / counts[seen]
    return q


def main() -> None:
    dataset = OpenBanditDataset(behavior_policy="random", campaign="all", data_path=DATA)
    fb = dataset.obtain_batch_bandit_feedback()
    n, n_actions = fb["n_rounds"], fb["n_actions"]
    policy = BernoulliTS(n_actions=n_actions, len_list=dataset.len_list,
                         is_zozotown_prior=True, campaign="all", random_state=SEED)
    action_dist = policy.compute_batch_action_dist(n_rounds=n, n_sim=N_SIM)
    q_table = tabular_q(fb["action"], fb["position"], fb["reward"], n_actions,
                        dataset.len_list)
    q_hat = np.tile(q_table, (n, 1, 1))
    common = {"reward": fb["reward"], "action": fb["action"], "position": fb["position"],
                  "pscore": fb["pscore"], "action_dist": action_dist,
                  "estimated_rewards_by_reg_model": q_hat}
    estimators = {
        "ips": InverseProbabilityWeighting(),
        "snips": SelfNormalizedInverseProbabilityWeighting(),
        "dm": DirectMethod(),
        "dr": DoublyRobust(),
    }
    results = {}
    for name, est in estimators.items():
        value = est.estimate_policy_value(**common)
        interval = est.estimate_interval(**common, alpha=ALPHA, n_bootstrap_samples=N_BOOT,
                                         random_state=SEED)
        keys = sorted(interval)
        results[name] = {
            "value": float(value),
            "bootstrap_mean": float(interval["mean"]),
            "ci_low": float(interval[next(k for k in keys if "lower" in k)]),
            "ci_high": float(interval[next(k for k in keys if "upper" in k)]),
        }
    bts = OpenBanditDataset(behavior_policy="bts", campaign="all", data_path=DATA)
    out = {
        "generator": "peers/obp_reference.py",
        "versions": {"obp": version("obp"), "numpy": np.__version__, "python": sys.version},
        "logs": "data/logs/open-bandit-dataset/random/all/all.csv",
        "evaluated_policy": {"name": "BernoulliTS", "is_zozotown_prior": True,
                             "campaign": "all", "random_state": SEED, "n_sim": N_SIM},
        "bootstrap": {"n_bootstrap_samples": N_BOOT, "random_state": SEED, "alpha": ALPHA},
        # obp sorts the logs by timestamp; the bootstrap depends on row order
        "row_order": [int(i) for i in dataset.data.index.values],
        "action_dist": action_dist[0].tolist(),
        "q_table": q_table.tolist(),
        "estimates": results,
        "on_policy_bts_ctr": float(bts.obtain_batch_bandit_feedback()["reward"].mean()),
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {OUT.relative_to(ROOT)}: " + ", ".join(
        f"{k}={v['value']:.6f}" for k, v in results.items()))


if __name__ == "__main__":
    main()
