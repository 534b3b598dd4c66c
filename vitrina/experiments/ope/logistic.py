"""A reward model that reads the context: L2-regularised logistic regression of the
reward on the context, the action (one-hot) and the position (one-hot).

It is fitted with scipy's L-BFGS on the mean log-loss plus ``l2/2 ||w||^2 / n``
(the intercept is not penalised), so the penalty is that of ``l2`` prior
pseudo-observations and shrinks towards the overall click rate, like the tabular
model's global prior. The effects are additive on the log-odds scale: one
coefficient per context column, per action and per position, no interactions;
that is what a few clicks per thousand impressions can support.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import optimize, sparse
from scipy.special import expit

from vitrina.experiments.errors import InvalidLogs
from vitrina.experiments.ope.feedback import LoggedFeedback


@dataclass
class LogisticRewardModel:
    l2: float = 1.0
    max_iter: int = 500
    name: str = "logistic"
    coef_: np.ndarray | None = field(default=None, repr=False)
    scale_: np.ndarray | None = field(default=None, repr=False)

    def _design(self, context: np.ndarray | None, action: np.ndarray, position: np.ndarray,
                n_actions: int, n_positions: int) -> sparse.csr_matrix:
        n = len(action)
        rows = np.arange(n)
        parts = [sparse.csr_matrix((np.ones(n), (rows, action)), shape=(n, n_actions)),
                 sparse.csr_matrix((np.ones(n), (rows, position)), shape=(n, n_positions))]
        if context is not None:
            parts.insert(0, sparse.csr_matrix(np.asarray(context, float) / self.scale_))
        return sparse.hstack(parts, format="csr")

    def fit(self, feedback: LoggedFeedback) -> LogisticRewardModel:
        if not self.l2 > 0:
            raise InvalidLogs("l2 must be positive: unpenalised one-hot columns do not converge")
        y = feedback.reward
        if np.any((y < 0) | (y > 1)):
            raise InvalidLogs("a logistic reward model needs rewards in [0, 1]")
        self.n_actions, self.n_positions = feedback.n_actions, feedback.n_positions
        self.with_context = feedback.context is not None
        if self.with_context:
            # columns on one scale, so one penalty fits all; constant columns stay 0
            spread = np.abs(feedback.context).max(axis=0)
            self.scale_ = np.where(spread > 0, spread, 1.0)
        X = self._design(feedback.context, feedback.action, feedback.positions,
                         self.n_actions, self.n_positions)
        n, d = X.shape
        mean = float(np.clip(y.mean(), 1e-6, 1 - 1e-6))
        start = np.zeros(d + 1)
        start[-1] = np.log(mean / (1 - mean))
        penalty = self.l2 / n

        def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
            z = X @ w[:-1] + w[-1]
            # log(1 + e^z) - y z, stable for large |z|
            value = np.mean(np.logaddexp(0, z) - y * z) + 0.5 * penalty * w[:-1] @ w[:-1]
            g = (expit(z) - y) / n
            grad = np.append(X.T @ g + penalty * w[:-1], g.sum())
            return value, grad

        found = optimize.minimize(loss, start, jac=True, method="L-BFGS-B",
                                  options={"maxiter": self.max_iter})
        self.coef_ = found.x
        return self

    def predict(self, context: np.ndarray | None, action: np.ndarray,
                position: np.ndarray) -> np.ndarray:
        """Expected reward of each (context row, action, position) triple."""
        if self.coef_ is None:
            raise InvalidLogs("the reward model is not fitted")
        if (context is not None) != self.with_context:
            raise InvalidLogs("predict with a context exactly when fitted with one")
        X = self._design(context, np.asarray(action), np.asarray(position),
                         self.n_actions, self.n_positions)
        return expit(X @ self.coef_[:-1] + self.coef_[-1])

    def fit_predict(self, feedback: LoggedFeedback) -> np.ndarray:
        """``q_hat`` over every action and position: (n_rounds, n_actions, n_positions)."""
        self.fit(feedback)
        A, K = self.n_actions, self.n_positions
        if feedback.context is None:
            a, k = np.meshgrid(np.arange(A), np.arange(K), indexing="ij")
            return self.predict(None, a.ravel(), k.ravel()).reshape(A, K)
        w = self.coef_
        d = feedback.context.shape[1]
        base = (np.asarray(feedback.context, float) / self.scale_) @ w[:d] + w[-1]
        z = base[:, None, None] + w[d:d + A][None, :, None] + w[d + A:d + A + K][None, None, :]
        return expit(z)
