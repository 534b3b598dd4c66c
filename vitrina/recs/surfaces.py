"""Which model answers a user on a surface (decision 031).

A surface (``?surface=home``) is a placement. When the project has an experiment whose
key is the surface's name, that experiment assigns each user a variant, and the
variant's value says what serves it::

    {"model": "ease", "version": 3, "explore": 0.1, "diversity": 0.2, "freshness_days": 2}

``model`` is a trained model's name; ``version`` (default: its latest) pins one;
``explore``, ``diversity`` and ``freshness_days`` shape the list (``policy.Options``).
A bare string is a model name; a null value means "the promoted model". Users outside
the experiment (not running, killed, holdout, traffic) get the promoted model and no
exposure; a surface with no experiment is just a label.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from vitrina.experiments import Assigner, Experiment
from vitrina.experiments_service import logs
from vitrina.recs.policy import Options
from vitrina.storage.catalog.db import transaction
from vitrina.storage.catalog.experiments import ExperimentRow

_OPTIONS = ("explore", "diversity", "freshness_days")


class BadVariant(ValueError):
    """A variant's value does not name a model the way this module reads it."""


@dataclass(frozen=True)
class Choice:
    """What serves one request: ``model`` None is the promoted model, ``version`` None
    the latest; ``propensity`` is the probability of this variant for a user in the
    experiment (1 without one)."""

    model: str | None = None
    version: int | None = None
    options: Options = field(default_factory=Options)
    experiment: str | None = None
    variant: str | None = None
    propensity: float = 1.0


def read_value(value: Any) -> tuple[str | None, int | None, Options]:
    """A variant's value as (model, version, options)."""
    if value is None:
        return None, None, Options()
    if isinstance(value, str):
        return value, None, Options()
    if not isinstance(value, dict):
        raise BadVariant(f"a variant's value is a model name or an object, not {type(value).__name__}")
    unknown = set(value) - {"model", "version", *_OPTIONS}
    if unknown:
        raise BadVariant(f"unknown keys in a variant's value: {sorted(unknown)}")
    model, version = value.get("model"), value.get("version")
    if model is not None and not isinstance(model, str):
        raise BadVariant("a variant's model is a name")
    if version is not None and (isinstance(version, bool) or not isinstance(version, int) or version < 1):
        raise BadVariant("a variant's version is a positive integer")
    try:
        options = Options(**{k: value[k] for k in _OPTIONS if value.get(k) is not None})
    except (TypeError, ValueError) as exc:
        raise BadVariant(str(exc)) from None
    return model, version, options


class Surfaces:
    """Assigns users on a surface through its experiment. An experiment's definition is
    re-read at most every ``reload_seconds`` (a kill or a new revision takes effect
    within that); exposures are written once per user and variant from this process
    (the catalog keeps the earliest anyway). Each keeps the latest ``remember``."""

    def __init__(self, sessions: Any, reload_seconds: float = 5.0, remember: int = 100_000) -> None:
        self.sessions, self.reload_seconds, self.remember = sessions, reload_seconds, remember
        self._lock = threading.Lock()
        #: the surfaces read most recently (a caller may name any surface)
        self._experiments: OrderedDict[tuple[str, str], tuple[float, int | None, Assigner | None]] = \
            OrderedDict()
        self._exposed: OrderedDict[tuple[str, str, str, str], None] = OrderedDict()

    def _assigner(self, project: str, surface: str) -> Assigner | None:
        now = time.monotonic()
        cached = self._experiments.get((project, surface))
        if cached is not None and now - cached[0] < self.reload_seconds:
            return cached[2]
        with self.sessions() as s:
            row = s.execute(select(ExperimentRow.revision, ExperimentRow.definition)
                            .where(ExperimentRow.project_id == project,
                                   ExperimentRow.key == surface)).first()
        if row is None:
            assigner = None
        elif cached is not None and cached[1] == row.revision:
            assigner = cached[2]
        else:
            assigner = Assigner(Experiment.from_dict(row.definition))
        with self._lock:
            self._experiments[(project, surface)] = (now, row.revision if row else None, assigner)
            self._experiments.move_to_end((project, surface))
            while len(self._experiments) > self.remember:
                self._experiments.popitem(last=False)
        return assigner

    def choose(self, project: str, surface: str | None, user: str) -> Choice:
        """The variant for ``user``; raises BadVariant when its value is unreadable."""
        if surface is None:
            return Choice()
        assigner = self._assigner(project, surface)
        if assigner is None:
            return Choice()
        answer = assigner.assign(user)
        if not answer.in_experiment:
            return Choice(experiment=answer.experiment)
        model, version, options = read_value(answer.value)
        experiment = assigner.experiment
        weight = experiment.weights[experiment.variant_keys.index(answer.variant)]
        return Choice(model, version, options, answer.experiment, answer.variant, weight)

    def expose(self, project: str, choice: Choice, user: str) -> None:
        """Log the user's exposure to the variant that answered (before the answer
        leaves, so an acknowledged answer is never missing from the results)."""
        if choice.variant is None or choice.experiment is None:
            return
        name = (project, choice.experiment, user, choice.variant)
        if name in self._exposed:
            return
        with transaction(self.sessions) as s:
            logs.write_exposures(s, project, [logs.Exposure(choice.experiment, user,
                                                            choice.variant, time.time())])
        with self._lock:
            self._exposed[name] = None
            while len(self._exposed) > self.remember:
                self._exposed.popitem(last=False)
