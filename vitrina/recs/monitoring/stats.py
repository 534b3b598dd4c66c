"""The monitoring's statistics (decision 033): feature drift as a population stability
index and its reading, and serving latency quantiles read from the Prometheus
histogram. The Wilson interval is the experiments' (``vitrina.experiments.stats``)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

#: a bin's share below this is read as this, so an empty bin gives a finite PSI
PSI_EPSILON = 1e-4
#: PSI below STABLE is stable, up to SIGNIFICANT moderate, above it significant
STABLE, SIGNIFICANT = 0.1, 0.25


def psi(current: Mapping[str, int], reference: Mapping[str, int], bins: Iterable[str]) -> float | None:
    """Population stability index, sum of (a - e) ln(a / e) over ``bins`` of the two
    shares, each at least PSI_EPSILON; None when either side is empty."""
    bins = list(bins)
    a_total = sum(current.get(b, 0) for b in bins)
    e_total = sum(reference.get(b, 0) for b in bins)
    if a_total == 0 or e_total == 0:
        return None
    out = 0.0
    for b in bins:
        a = max(current.get(b, 0) / a_total, PSI_EPSILON)
        e = max(reference.get(b, 0) / e_total, PSI_EPSILON)
        out += (a - e) * math.log(a / e)
    return out


def reading(value: float | None) -> str | None:
    if value is None:
        return None
    return "stable" if value < STABLE else "moderate" if value <= SIGNIFICANT else "significant"


def histogram_quantile(q: float, buckets: Mapping[float, float]) -> float:
    """Prometheus' ``histogram_quantile``: ``buckets`` maps each upper bound (with
    +Inf) to its cumulative count; linear interpolation inside the bucket the rank
    falls in, the highest finite bound when it falls in +Inf, NaN without
    observations."""
    if not 0 <= q <= 1:
        return -math.inf if q < 0 else math.inf
    bounds = sorted(buckets)
    if len(bounds) < 2 or not math.isinf(bounds[-1]):
        return math.nan
    counts, top = [], 0.0
    for b in bounds:  # cumulative counts never go down (as Prometheus ensures)
        top = max(top, buckets[b])
        counts.append(top)
    total = counts[-1]
    if total == 0:
        return math.nan
    rank = q * total
    i = next(n for n, c in enumerate(counts) if c >= rank)
    if i == len(bounds) - 1:
        return bounds[-2]
    if i == 0 and bounds[0] <= 0:
        return bounds[0]
    start = 0.0 if i == 0 else bounds[i - 1]
    below = 0.0 if i == 0 else counts[i - 1]
    return start + (bounds[i] - start) * (rank - below) / (counts[i] - below)


#: the serving latency histogram (vitrina/api/metrics.py), by surface, model and variant
LATENCY = "vitrina_recs_request_seconds"


def latency_quantiles(text: str, qs: Iterable[float] = (0.5, 0.99)) -> dict[tuple[str, str], dict[str, float]]:
    """From a /metrics text, per (model, variant) summed over surfaces: the quantiles
    ``qs`` (keyed "p50", "p99" ...) of the serving latency and the answer count."""
    from prometheus_client.parser import text_string_to_metric_families

    buckets: dict[tuple[str, str], dict[float, float]] = {}
    for family in text_string_to_metric_families(text):
        if family.name != LATENCY:
            continue
        for sample in family.samples:
            if sample.name == LATENCY + "_bucket":
                key = (sample.labels.get("model", ""), sample.labels.get("variant", ""))
                le = float(sample.labels["le"])
                into = buckets.setdefault(key, {})
                into[le] = into.get(le, 0.0) + sample.value
    out = {}
    for key, b in sorted(buckets.items()):
        out[key] = {f"p{q * 100:g}": histogram_quantile(q, b) for q in qs}
        out[key]["count"] = b.get(math.inf, 0.0)
    return out
