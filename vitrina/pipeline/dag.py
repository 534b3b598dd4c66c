"""Each media kind's pipeline: its steps in dependency order, checked at boot.

A kind's steps are those registered for it (its own, added with the kind, and any
plug-in's), plus one :class:`~vitrina.pipeline.steps.AnalyseStep` per input that
registered analysers read.
"""

from __future__ import annotations

from collections import defaultdict

from vitrina.errors import ConfigError
from vitrina.pipeline.steps import AnalyseStep, Step
from vitrina.plugins import Registries


class Pipelines:
    def __init__(self, registries: Registries) -> None:
        self._ordered: dict[str, list[Step]] = {}
        self._by_name: dict[str, dict[str, Step]] = {}
        steps: dict[str, dict[str, Step]] = {kind.name: {} for kind in registries.kinds}
        for step in registries.steps:
            if step.kind not in steps:
                raise ConfigError(f"step {step.name!r} is for media kind {step.kind!r}, which is not "
                                  f"registered; known: {', '.join(steps) or 'none'}")
            steps[step.kind][step.name] = step
        for kind, step in self._analyse_steps(registries):
            if step.name in steps[kind]:
                raise ConfigError(f"analysis step {step.name!r} of {kind} clashes with a step of that name")
            steps[kind][step.name] = step
        for kind, named in steps.items():
            self._ordered[kind] = _in_dependency_order(kind, named)
            self._by_name[kind] = named

    @staticmethod
    def _analyse_steps(registries: Registries) -> list[tuple[str, AnalyseStep]]:
        offered = {(k.name, i.name): i for k in registries.kinds for i in k.inputs()}
        readers = defaultdict(list)
        for analyser in registries.analysers:
            key = (analyser.input.kind, analyser.input.name)
            if key not in offered:
                raise ConfigError(f"analyser {analyser.name!r} reads {key[1]!r} of media kind {key[0]!r}, "
                                  "which no registered media kind offers")
            readers[key].append(analyser)
        return [(kind, AnalyseStep(offered[kind, name], tuple(found)))
                for (kind, name), found in readers.items()]

    def kinds(self) -> list[str]:
        return list(self._ordered)

    def steps(self, kind: str) -> list[Step]:
        """The steps of ``kind``, dependencies first (empty for an unknown kind)."""
        return self._ordered.get(kind, [])

    def step(self, kind: str, name: str) -> Step:
        try:
            return self._by_name[kind][name]
        except KeyError:
            raise ConfigError(f"media kind {kind!r} has no step {name!r}",
                              details={"kind": kind, "step": name}) from None

    def versions(self) -> dict[tuple[str, str], str]:
        """(kind, step) -> the version each step runs now."""
        return {(kind, s.name): s.version for kind, ordered in self._ordered.items() for s in ordered}


def _in_dependency_order(kind: str, named: dict[str, Step]) -> list[Step]:
    ordered: list[Step] = []
    seen: set[str] = set()

    def visit(step: Step, path: tuple[str, ...]) -> None:
        if step.name in seen:
            return
        if step.name in path:
            raise ConfigError(f"steps of {kind} form a cycle: {' -> '.join(path + (step.name,))}")
        for dep in step.requires:
            if dep not in named:
                raise ConfigError(f"step {step.name!r} of {kind} requires {dep!r}, which is not registered")
            visit(named[dep], path + (step.name,))
        seen.add(step.name)
        ordered.append(step)

    for step in sorted(named.values(), key=lambda s: s.name):
        visit(step, ())
    return ordered
