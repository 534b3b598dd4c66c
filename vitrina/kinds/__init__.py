"""Media kinds: one plug-in per kind of media (image, video, ...).

A kind says which files are its own (by magic bytes), checks an upload against its
limits before anything is stored, reports the facts that check read (recorded as its
``probe_step``), and owns its DAG of steps and the inputs its analysers read. Ingest,
backfill, the CLI and delivery ask the runtime's registry; nothing else branches on
a kind's name.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from vitrina.errors import UnsupportedMediaType
from vitrina.media.sniff import ACCEPTED, MediaType, refusal, sniff

if TYPE_CHECKING:
    from vitrina.analysis.base import AnalysisInput
    from vitrina.config import Settings
    from vitrina.pipeline.steps import Facts, Step


class MediaKind(Protocol):
    name: str
    #: file name endings the CLI picks up when it walks a directory
    suffixes: frozenset[str]
    #: the step whose result :meth:`validate` already produced (recorded done at ingest)
    probe_step: str | None
    #: its originals are still pictures the image engine transforms (the /img route)
    transformable: bool

    def sniff(self, head: bytes) -> MediaType | None:
        """The type of a file starting with ``head`` if it is of this kind, else None."""
        ...

    def validate(self, path: Path, media: MediaType, settings: Settings) -> Facts | None:
        """Refuse (a 4xx VitrinaError) what breaks a limit or cannot be decoded, before
        anything is stored; the facts read on the way, or None."""
        ...

    def steps(self) -> Sequence[Step]:
        """The kind's own steps; the runtime orders them by their ``requires``."""
        ...

    def inputs(self) -> Sequence[AnalysisInput]:
        """What the kind offers analysers to read."""
        ...


def kind_of(kinds: Iterable[MediaKind], head: bytes) -> tuple[MediaKind, MediaType]:
    """The registered kind that owns a file starting with ``head``; a 415 otherwise
    that says whether the type is known but not enabled (the accepted types it lists
    are those of the registered kinds only)."""
    kinds = tuple(kinds)
    for kind in kinds:
        media = kind.sniff(head)
        if media is not None:
            return kind, media
    names = {kind.name for kind in kinds}
    enabled = [t for t in ACCEPTED if t.kind in names]
    try:
        media = sniff(head)
    except UnsupportedMediaType:  # unknown bytes: list what the registered kinds accept
        raise refusal(head, enabled) from None
    raise UnsupportedMediaType(f"{media.mime} is recognised but {media.kind} ingest is not enabled yet",
                               details={"mime": media.mime, "accepted": sorted({t.mime for t in enabled})})


def suffixes(kinds: Iterable[MediaKind]) -> frozenset[str]:
    return frozenset().union(*(k.suffixes for k in kinds))
