"""Experiment definitions: variants, traffic, targeting, layers, holdout, rollouts.

Everything here is a frozen dataclass that validates itself on construction and
round-trips through ``to_dict``/``from_dict`` (JSON-ready), so a service can store
definitions as rows or documents and rebuild them unchanged.

A feature flag is the degenerate experiment: variants ``off`` (the control, served
to everyone outside the rollout) and ``on``, with the rollout percentage as traffic;
see :func:`feature_flag`.
"""

from __future__ import annotations

import itertools
import math
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from vitrina.experiments import serde
from vitrina.experiments.errors import InvalidExperiment
from vitrina.experiments.targeting import Condition

#: assignment resolution: traffic and weights are honoured to 1/BUCKETS (0.01%)
BUCKETS = 10_000
_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$")


class UnitType(StrEnum):
    USER = "user"
    SESSION = "session"
    DEVICE = "device"


class Status(StrEnum):
    DRAFT = "draft"
    RUNNING = "running"
    STOPPED = "stopped"


def _check_key(kind: str, key: str) -> None:
    if not isinstance(key, str) or not _KEY.match(key):
        raise InvalidExperiment(
            f"{kind} key {key!r} must be 1-128 characters of letters, digits, '_.:-'"
        )


def _check_share(name: str, value: float) -> None:
    if not 0.0 <= value <= 1.0:
        raise InvalidExperiment(f"{name} must be between 0 and 1, got {value}")


def _aware(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise InvalidExperiment("times must carry a time zone (UTC recommended)")
    return moment.astimezone(UTC)


@dataclass(frozen=True)
class Variant:
    key: str
    weight: float = 1.0
    #: JSON payload served with the variant (a flag's value, a config blob)
    value: Any = None

    def __post_init__(self) -> None:
        _check_key("variant", self.key)
        weight = self.weight
        try:
            finite = not isinstance(weight, bool) and math.isfinite(weight)
        except (TypeError, OverflowError):  # text, or an integer past any float
            finite = False
        if not finite or not weight >= 0:
            raise InvalidExperiment(f"variant {self.key!r} needs a finite weight of 0 or more, "
                                    f"got {weight!r}"[:200])


@dataclass(frozen=True)
class RolloutStage:
    start: datetime
    traffic: float

    def __post_init__(self) -> None:
        object.__setattr__(self, "start", _aware(self.start))
        _check_share("rollout traffic", self.traffic)


@dataclass(frozen=True)
class RolloutSchedule:
    """Staged ramp-up, e.g. 1% -> 5% -> 25% -> 50%: traffic at a time is that of the
    last stage started; before the first stage nobody is in."""

    stages: tuple[RolloutStage, ...]

    def __post_init__(self) -> None:
        if not self.stages:
            raise InvalidExperiment("a rollout schedule needs at least one stage")
        starts = [s.start for s in self.stages]
        if any(b <= a for a, b in itertools.pairwise(starts)):
            raise InvalidExperiment("rollout stages must start at increasing times")

    def traffic_at(self, now: datetime) -> float:
        traffic = 0.0
        for stage in self.stages:
            if stage.start <= now:
                traffic = stage.traffic
            else:
                break
        return traffic


@dataclass(frozen=True)
class LayerSlot:
    """The experiment's share of a layer: layer buckets [start, end) of BUCKETS.
    Experiments in one layer with disjoint slots never share a unit."""

    layer: str
    start: int
    end: int

    def __post_init__(self) -> None:
        _check_key("layer", self.layer)
        if not 0 <= self.start < self.end <= BUCKETS:
            raise InvalidExperiment(f"layer slot must satisfy 0 <= start < end <= {BUCKETS}")

    def overlaps(self, other: LayerSlot) -> bool:
        return self.layer == other.layer and self.start < other.end and other.start < self.end


@dataclass(frozen=True)
class Holdout:
    """A global holdout: this share of units sees no experiment at all (only
    controls), so the long-run effect of everything shipped can be measured."""

    name: str
    traffic: float

    def __post_init__(self) -> None:
        _check_key("holdout", self.name)
        _check_share("holdout traffic", self.traffic)


@dataclass(frozen=True)
class Experiment:
    key: str
    variants: tuple[Variant, ...]
    unit_type: UnitType = UnitType.USER
    #: share of eligible units in the experiment (ignored while a rollout is set)
    traffic: float = 1.0
    targeting: tuple[Condition, ...] = ()
    layer: LayerSlot | None = None
    rollout: RolloutSchedule | None = None
    status: Status = Status.RUNNING
    #: kill switch: everyone gets the control at once, whatever else is set
    killed: bool = False
    #: whether the global holdout applies (off for experiments that must reach all)
    in_holdout_scope: bool = True
    #: hashing salt; defaults to the key. Changing it reshuffles every unit.
    salt: str = ""
    description: str = ""
    tags: tuple[str, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        _check_key("experiment", self.key)
        object.__setattr__(self, "variants", tuple(self.variants))
        object.__setattr__(self, "targeting", tuple(self.targeting))
        object.__setattr__(self, "tags", tuple(self.tags))
        if not self.variants:
            raise InvalidExperiment(f"experiment {self.key!r} needs at least one variant")
        keys = [v.key for v in self.variants]
        if len(set(keys)) != len(keys):
            raise InvalidExperiment(f"experiment {self.key!r} has duplicate variant keys")
        total = sum(v.weight for v in self.variants)
        if not 0 < total < math.inf:
            raise InvalidExperiment(f"experiment {self.key!r} needs a positive, finite total weight")
        _check_share("traffic", self.traffic)
        if not self.salt:
            object.__setattr__(self, "salt", self.key)

    @property
    def control(self) -> Variant:
        """The first variant: the baseline of the analysis and the fallback served
        to units outside the experiment."""
        return self.variants[0]

    @property
    def variant_keys(self) -> tuple[str, ...]:
        return tuple(v.key for v in self.variants)

    @property
    def weights(self) -> tuple[float, ...]:
        total = sum(v.weight for v in self.variants)
        return tuple(v.weight / total for v in self.variants)

    def traffic_at(self, now: datetime | None = None) -> float:
        if self.rollout is None:
            return self.traffic
        return self.rollout.traffic_at(now or datetime.now(UTC))

    def to_dict(self) -> dict[str, Any]:
        return serde.to_dict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Experiment:
        return serde.from_dict(cls, data)


def feature_flag(
    key: str,
    traffic: float = 0.0,
    *,
    on_value: Any = True,
    off_value: Any = False,
    **options: Any,
) -> Experiment:
    """A flag: ``traffic`` of eligible units get ``on``, everyone else ``off``."""
    variants = (Variant("off", 0.0, off_value), Variant("on", 1.0, on_value))
    return Experiment(key=key, variants=variants, traffic=traffic, **options)


def check_layer(experiments: list[Experiment]) -> None:
    """Refuse running experiments whose layer slots overlap (they would share units)."""
    running = [e for e in experiments if e.layer is not None and e.status == Status.RUNNING]
    for i, a in enumerate(running):
        for b in running[i + 1 :]:
            assert a.layer is not None and b.layer is not None
            if a.layer.overlaps(b.layer):
                raise InvalidExperiment(
                    f"experiments {a.key!r} and {b.key!r} overlap in layer {a.layer.layer!r}"
                )
