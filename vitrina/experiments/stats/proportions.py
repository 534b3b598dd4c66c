"""The Wilson score interval of a proportion, for reports that show a rate per arm
(recommender monitoring, creative reports). Wilson rather than the normal interval
because it stays inside [0, 1] and is sound at a handful of successes."""

from __future__ import annotations

import math

from scipy import stats as sps


def wilson(successes: int, trials: int, alpha: float = 0.05) -> tuple[float, float] | None:
    """The two-sided 1 - ``alpha`` Wilson score interval (no continuity correction) of
    ``successes`` out of ``trials``; None without trials."""
    if trials <= 0:
        return None
    if not 0 <= successes <= trials:
        raise ValueError(f"{successes} successes out of {trials} trials")
    z = float(sps.norm.ppf(1 - alpha / 2))
    p, z2 = successes / trials, z * z
    centre = (p + z2 / (2 * trials)) / (1 + z2 / trials)
    half = z * math.sqrt(p * (1 - p) / trials + z2 / (4 * trials * trials)) / (1 + z2 / trials)
    return max(0.0, centre - half), min(1.0, centre + half)
