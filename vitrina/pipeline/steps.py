"""Steps: small named, versioned units of work over one asset of one media kind.

A step reads the asset (and the blob store), does its work, writes any blobs it
makes, and returns a typed :class:`StepResult`. It never touches the catalog: the
queue writes the result in the same transaction that marks the step done, so a
worker that dies mid-step leaves no partial rows behind.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from vitrina.config import Settings
from vitrina.storage.blobs import BlobStore

if TYPE_CHECKING:
    from vitrina.analysis.base import Analyser, AnalysisInput
    from vitrina.assets.records import AssetSnapshot


@dataclass(frozen=True)
class StepContext:
    asset: AssetSnapshot
    store: BlobStore
    settings: Settings
    attempt: int
    #: a long step calls it with the fraction done (0 to 1); the worker records it on the run
    progress: Callable[[float], None] = lambda fraction: None
    #: ingests a file the step made as a new asset of the same project (a video's poster):
    #: ``ingest(path, filename, idempotency_key)`` returns the new (or the existing) asset id
    ingest: Callable[[Path, str, str], str] | None = None

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


def budget_of(step: Step, settings: Settings) -> float:
    """Seconds ``step`` may run: its own budget, else the pipeline's."""
    return step.budget_seconds or settings.pipeline.step_budget_seconds


@dataclass(frozen=True)
class Facts:
    """What a probe learnt about an asset: the only asset columns a step may write
    (None leaves a column as it is)."""

    width: int | None = None
    height: int | None = None
    meta: Mapping[str, Any] | None = None


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


@dataclass(frozen=True)
class StepResult:
    facts: Facts | None = None
    #: the step's whole set: it replaces what the step made before (re-runs, backfills)
    derivatives: Sequence[DerivativeOut] = ()
    signals: Sequence[SignalOut] = ()


class Step(Protocol):
    name: str
    version: str
    kind: str  # the media kind whose pipeline it belongs to
    requires: tuple[str, ...]  # steps of the same kind that must be done first
    #: seconds the step may take before it fails with ``step_timeout``; None = the
    #: pipeline's default budget
    budget_seconds: float | None

    def run(self, ctx: StepContext) -> StepResult: ...


@dataclass(frozen=True)
class AnalyseStep:
    """Runs every analyser of one input over that input, made once (one decode for
    all of them). Its version is the input's: an analyser's own version is recorded
    with its result, so raising it makes only that analyser's results stale."""

    input: AnalysisInput
    analysers: tuple[Analyser, ...]
    budget_seconds: float | None = None

    @property
    def name(self) -> str:
        return self.input.step

    @property
    def kind(self) -> str:
        return self.input.kind

    @property
    def version(self) -> str:
        return f"{self.input.name}@{self.input.version}"

    @property
    def requires(self) -> tuple[str, ...]:
        return self.input.requires

    def run(self, ctx: StepContext) -> StepResult:
        item = self.input.load(ctx)
        return StepResult(signals=[signal_of(a, value) for a in self.analysers
                                   for value in a.analyse([item])])


def signal_of(analyser: Analyser, value: dict[str, Any]) -> SignalOut:
    return SignalOut(analyser.name, analyser.model or analyser.name, analyser.version, value)
