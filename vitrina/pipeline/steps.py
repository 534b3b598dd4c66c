"""Steps: small named, versioned units of work over one asset, registered by name.

A step reads the asset (and the blob store), does its work, writes any blobs it
makes, and returns a :class:`StepResult`. It never touches the catalog: the queue
writes the result in the same transaction that marks the step done, so a worker
that dies mid-step leaves no partial rows behind.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from vitrina.config import Settings
from vitrina.errors import ConfigError
from vitrina.storage.blobs import BlobStore


@dataclass(frozen=True)
class AssetView:
    """What a step may know about its asset (a snapshot, not a live row)."""

    id: str
    kind: str
    mime: str
    sha256: str
    blob_key: str
    width: int | None
    height: int | None
    meta: dict[str, Any]
    derivatives: tuple[DerivativeOut, ...] = ()


@dataclass(frozen=True)
class StepContext:
    asset: AssetView
    store: BlobStore
    settings: Settings
    attempt: int

    @contextmanager
    def original_path(self) -> Iterator[Path]:
        """A local file with the original: the blob itself when local, else a temp copy."""
        local = self.store.local_path(self.asset.blob_key)
        if local is not None:
            yield local
            return
        with tempfile.NamedTemporaryFile(prefix="vitrina-src-") as tmp:
            for chunk in self.store.open_range(self.asset.blob_key):
                tmp.write(chunk)
            tmp.flush()
            yield Path(tmp.name)


@dataclass(frozen=True)
class DerivativeOut:
    width: int
    height: int
    format: str
    mime: str
    size_bytes: int
    blob_key: str


@dataclass(frozen=True)
class SignalOut:
    name: str
    producer: str
    version: str
    value: dict[str, Any]


@dataclass
class StepResult:
    asset_updates: dict[str, Any] = field(default_factory=dict)  # width, height, meta
    derivatives: list[DerivativeOut] = field(default_factory=list)
    signals: list[SignalOut] = field(default_factory=list)


class Step(Protocol):
    name: str
    version: str
    kinds: frozenset[str]  # asset kinds it applies to
    requires: tuple[str, ...]  # names of steps that must be done first

    def run(self, ctx: StepContext) -> StepResult: ...


_REGISTRY: dict[str, Step] = {}


def register(step: Step, *, replace: bool = False) -> Step:
    """Add a step; a second step with the same name is refused unless replacing on purpose."""
    if step.name in _REGISTRY and not replace:
        raise ConfigError(f"step {step.name!r} is registered twice")
    _REGISTRY[step.name] = step
    return step


def get(name: str) -> Step:
    try:
        return _REGISTRY[name]
    except KeyError:
        raise ConfigError(f"no step named {name!r}; known: {sorted(_REGISTRY)}") from None


def steps_for(kind: str) -> list[Step]:
    """The steps of one asset kind, dependencies first."""
    chosen = {s.name: s for s in _REGISTRY.values() if kind in s.kinds}
    ordered: list[Step] = []
    seen: set[str] = set()

    def visit(step: Step, path: tuple[str, ...]) -> None:
        if step.name in seen:
            return
        if step.name in path:
            raise ConfigError(f"steps form a cycle: {' -> '.join(path + (step.name,))}")
        for dep in step.requires:
            if dep not in chosen:
                raise ConfigError(f"step {step.name!r} requires {dep!r}, which is not registered for {kind}")
            visit(chosen[dep], path + (step.name,))
        seen.add(step.name)
        ordered.append(step)

    for step in sorted(chosen.values(), key=lambda s: s.name):
        visit(step, ())
    return ordered


def validate_registry() -> None:
    """Called at start-up: refuse to boot on a broken DAG."""
    kinds = {k for s in _REGISTRY.values() for k in s.kinds}
    for kind in kinds:
        steps_for(kind)
