"""A toy media kind and a toy analyser, written as an extension author would: they
plug in through the registries alone.

A toy note is UTF-8 text after the magic line ``TOYNOTE``; its probe counts lines,
and the ``words`` analyser counts words over the note's text.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from vitrina.analysis.base import AnalysisInput
from vitrina.errors import CorruptMedia, MediaTooLarge
from vitrina.media.sniff import MediaType
from vitrina.pipeline.steps import Facts, StepContext, StepResult

MAGIC = b"TOYNOTE\n"
NOTE = MediaType("text/x-toy-note", "toy", "toy")
MAX_LINES = 100


def facts_of(data: bytes) -> Facts:
    try:
        text = data[len(MAGIC):].decode("utf-8")
    except UnicodeDecodeError:
        raise CorruptMedia("A toy note must be UTF-8 text.") from None
    lines = text.count("\n") + 1
    if lines > MAX_LINES:
        raise MediaTooLarge(f"A toy note has at most {MAX_LINES} lines.", details={"lines": lines})
    return Facts(meta={"lines": lines})


@dataclass(frozen=True)
class ToyProbe:
    name: str = "probe"
    version: str = "1"
    kind: str = "toy"
    requires: tuple[str, ...] = ()
    budget_seconds: float | None = None

    def run(self, ctx: StepContext) -> StepResult:
        return StepResult(facts=facts_of(ctx.store.read_bytes(ctx.asset.blob_key)))


def load_text(ctx: StepContext) -> str:
    return ctx.store.read_bytes(ctx.asset.blob_key)[len(MAGIC):].decode("utf-8")


TEXT = AnalysisInput(kind="toy", name="text", version="1", step="analyse", requires=("probe",),
                     load=load_text)


class ToyKind:
    name = "toy"
    suffixes = frozenset({".toy"})
    probe_step = "probe"
    transformable = False

    def sniff(self, head: bytes) -> MediaType | None:
        return NOTE if head.startswith(MAGIC) else None

    def validate(self, path: Path, media: MediaType, settings) -> Facts:
        return facts_of(path.read_bytes())

    def steps(self) -> Sequence:
        return (ToyProbe(),)

    def inputs(self) -> Sequence[AnalysisInput]:
        return (TEXT,)


@dataclass
class WordCount:
    """Counts words; remembers each call's batch size, as a model would batch."""

    version: str = "1"
    name: str = "words"
    input: AnalysisInput = TEXT
    model: str | None = "toy-words@1"
    batch_size: int = 2
    calls: list[int] = field(default_factory=list)

    def analyse(self, items: Sequence[str]) -> list[dict]:
        self.calls.append(len(items))
        return [{"words": len(text.split())} for text in items]
