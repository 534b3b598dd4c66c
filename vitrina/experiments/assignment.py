"""Deterministic assignment of units to variants, one call or millions at once.

A unit's fate is decided by hashes of its id, never by state, so every process
agrees without talking. In order:

1. not running -> control; killed -> control (the kill switch wins over all);
2. global holdout (its own salt): held-out units get the control;
3. targeting conditions on the unit's attributes;
4. layer slot: the layer's hash must fall in the experiment's slot;
5. traffic: the low 16 bits of the experiment's 32-bit hash give a traffic bucket
   (of BUCKETS), which must be below ``traffic * BUCKETS``;
6. variant: the high 16 bits give a variant bucket, mapped through the cumulative
   weights in declaration order.

Stickiness rules (what keeps a unit's variant):

- raising traffic, by hand or by a rollout stage, only adds units; nobody who is
  in changes variant (traffic and variant use independent halves of the hash);
- changing weights moves only the units whose variant bucket lies between an old
  and a new boundary; appending a variant moves only the buckets it takes;
- lowering traffic removes units (they get the control) without reshuffling the rest;
- changing the salt (or the key, when no salt is set) reshuffles everyone.

Units outside the experiment are served the control but are not in the analysis:
log an exposure only when ``in_experiment`` is true.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import IntEnum
from typing import Any, NamedTuple

import numpy as np
import xxhash

from vitrina.experiments.definitions import BUCKETS, Experiment, Holdout, Status
from vitrina.experiments.hashing import UnitId, hash_many, hash_one, seed_for
from vitrina.experiments.targeting import matches_all, matches_all_many

_LOW = 0xFFFF  # a 32-bit hash gives two independent 16-bit halves
_xxh32 = xxhash.xxh32_intdigest


class Reason(IntEnum):
    ASSIGNED = 0
    NOT_RUNNING = 1
    KILLED = 2
    HOLDOUT = 3
    NOT_TARGETED = 4
    OUTSIDE_LAYER = 5
    OUTSIDE_TRAFFIC = 6

    @property
    def label(self) -> str:
        return self.name.lower()


class Assignment(NamedTuple):
    """A unit's answer. It does not repeat the unit id: answers are few (one per
    variant, one per reason for being out) and built once per experiment, so the hot
    path allocates nothing."""

    experiment: str
    variant: str
    in_experiment: bool
    reason: Reason
    value: Any = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "experiment": self.experiment,
            "variant": self.variant,
            "in_experiment": self.in_experiment,
            "reason": self.reason.label,
            "value": self.value,
        }


@dataclass(frozen=True)
class BatchAssignment:
    """Column results: ``variant_index`` into ``variants`` (the control's index for
    units outside), ``reason`` as :class:`Reason` codes."""

    experiment: str
    variants: tuple[str, ...]
    variant_index: np.ndarray
    reason: np.ndarray

    @property
    def in_experiment(self) -> np.ndarray:
        return self.reason == Reason.ASSIGNED

    def variant_names(self) -> np.ndarray:
        return np.asarray(self.variants, dtype=object)[self.variant_index]

    def counts(self) -> dict[str, int]:
        idx = self.variant_index[self.in_experiment]
        counts = np.bincount(idx, minlength=len(self.variants))
        return {v: int(c) for v, c in zip(self.variants, counts)}


def _low_bucket(h: int) -> int:
    return ((h & _LOW) * BUCKETS) >> 16


def _low_buckets(h: np.ndarray) -> np.ndarray:
    return ((h & np.uint32(_LOW)) * np.uint32(BUCKETS)) >> np.uint32(16)


class Assigner:
    """An experiment compiled for fast assignment (seeds and boundaries as ints)."""

    def __init__(self, experiment: Experiment, holdout: Holdout | None = None) -> None:
        self.experiment = experiment
        self.holdout = holdout if experiment.in_holdout_scope else None
        self._seed = seed_for(experiment.salt)
        self._layer_seed = seed_for("layer:" + experiment.layer.layer) if experiment.layer else 0
        self._holdout_seed = seed_for("holdout:" + self.holdout.name) if self.holdout else 0
        self._holdout_cut = round(self.holdout.traffic * BUCKETS) if self.holdout else 0
        cumulative, total = 0.0, sum(v.weight for v in experiment.variants)
        bounds = []
        for v in experiment.variants:
            cumulative += v.weight
            bounds.append(round(BUCKETS * cumulative / total))
        self._bounds = tuple(bounds[:-1])
        self._keys = experiment.variant_keys
        self._static_cut = None if experiment.rollout else round(experiment.traffic * BUCKETS)
        self._active = experiment.status == Status.RUNNING and not experiment.killed
        key, control = experiment.key, experiment.control
        self._assigned = tuple(Assignment(key, v.key, True, Reason.ASSIGNED, v.value)
                               for v in experiment.variants)
        self._outside = {r: Assignment(key, control.key, False, r, control.value)
                         for r in Reason if r != Reason.ASSIGNED}

    def _traffic_cut(self, now: datetime | None) -> int:
        if self._static_cut is not None:
            return self._static_cut
        return round(self.experiment.traffic_at(now or datetime.now(UTC)) * BUCKETS)


    def assign(
        self,
        unit_id: UnitId,
        attributes: Mapping[str, Any] | None = None,
        now: datetime | None = None,
    ) -> Assignment:
        exp = self.experiment
        if not self._active:
            return self._outside[Reason.KILLED if exp.killed else Reason.NOT_RUNNING]
        if type(unit_id) is str:  # the hot path: skip hash_one's type dispatch
            h = _xxh32(unit_id.encode(), self._seed)
        else:
            h = hash_one(unit_id, self._seed)
        if self._holdout_cut and _low_bucket(hash_one(unit_id, self._holdout_seed)) < \
                self._holdout_cut:
            return self._outside[Reason.HOLDOUT]
        if exp.targeting and not matches_all(exp.targeting, attributes):
            return self._outside[Reason.NOT_TARGETED]
        if exp.layer is not None:
            bucket = _low_bucket(hash_one(unit_id, self._layer_seed))
            if not exp.layer.start <= bucket < exp.layer.end:
                return self._outside[Reason.OUTSIDE_LAYER]
        cut = self._static_cut if self._static_cut is not None else self._traffic_cut(now)
        if ((h & _LOW) * BUCKETS) >> 16 >= cut:
            return self._outside[Reason.OUTSIDE_TRAFFIC]
        return self._assigned[bisect_right(self._bounds, ((h >> 16) * BUCKETS) >> 16)]

    def assign_many(
        self,
        unit_ids: Sequence[UnitId] | np.ndarray,
        attributes: Mapping[str, np.ndarray] | None = None,
        now: datetime | None = None,
    ) -> BatchAssignment:
        """The same answers as :meth:`assign` for every id, computed over arrays.
        ``attributes`` maps attribute names to columns aligned with ``unit_ids``."""
        exp = self.experiment
        ids = np.asarray(unit_ids)
        n = len(ids)
        if not self._active:
            why = Reason.KILLED if exp.killed else Reason.NOT_RUNNING
            return BatchAssignment(exp.key, self._keys, np.zeros(n, dtype=np.int16),
                                   np.full(n, why, dtype=np.uint8))
        h = hash_many(ids, self._seed)
        halves = h.view(np.uint16)  # little-endian: low halves at even, high at odd places
        low, high = halves[0::2], halves[1::2]
        # bucket tests straight on the halves: ((x * B) >> 16) < c  <=>  x < ceil(c 2^16 / B)
        reason = (low >= _hash_cut(self._traffic_cut(now))).view(np.uint8)
        reason *= np.uint8(Reason.OUTSIDE_TRAFFIC)
        index = np.zeros(n, dtype=np.int16)
        for bound in self._bounds:
            if bound < BUCKETS:  # a bound at BUCKETS (zero-weight tail) takes no one
                np.add(index, high >= _hash_cut(bound), out=index, casting="unsafe")
        # lower-priority reasons first, so that the first failing rule is the one kept
        if exp.layer is not None:
            bucket = _low_buckets(hash_many(ids, self._layer_seed))
            reason[(bucket < exp.layer.start) | (bucket >= exp.layer.end)] = Reason.OUTSIDE_LAYER
        if exp.targeting:
            reason[~matches_all_many(exp.targeting, attributes, n)] = Reason.NOT_TARGETED
        if self._holdout_cut:
            held = _low_buckets(hash_many(ids, self._holdout_seed)) < self._holdout_cut
            reason[held] = Reason.HOLDOUT
        index[reason != Reason.ASSIGNED] = 0
        return BatchAssignment(exp.key, self._keys, index, reason)


def _hash_cut(bucket: int) -> int:
    """The smallest 16-bit value whose bucket is >= ``bucket``."""
    return -(-bucket * (1 << 16) // BUCKETS)


def assign(
    experiment: Experiment,
    unit_id: UnitId,
    attributes: Mapping[str, Any] | None = None,
    *,
    holdout: Holdout | None = None,
    now: datetime | None = None,
) -> Assignment:
    """One-off convenience; keep an :class:`Assigner` per experiment on hot paths."""
    return Assigner(experiment, holdout).assign(unit_id, attributes, now)
