"""What a project's stored bytes are made of: each media kind's files by class, and the
bytes two mechanisms saved (decision 012).

Classes, from a file's format and producer: ``original`` (the uploads), ``rendition``
(video MP4 rungs and HLS playlists and segments), ``storyboard`` (a video's seek
thumbnails and their WebVTT index), ``derivative`` (an image's web sizes) and
``other`` (anything else a step stored).

Savings: ``dedupe`` is what this project's uploads would have stored had bytes another
project stored first not been kept once (the earliest asset holding an original pays
for it); ``per_title`` sums, over the ``ladder`` signals of its videos, what a fixed
ladder would have stored for each rung minus what the per-title ladder stored (negative
when per-title stored more).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from vitrina.storage.catalog.models import Asset, Derivative, Signal

ORIGINAL, RENDITION, STORYBOARD, DERIVATIVE, OTHER = "original", "rendition", "storyboard", "derivative", "other"
CLASSES = (ORIGINAL, RENDITION, STORYBOARD, DERIVATIVE, OTHER)
#: formats of the files a player streams: progressive MP4, HLS playlists (the master's
#: format is ``hls``) and segments
STREAMED_FORMATS = frozenset({"mp4", "m4s", "m4a", "m4v", "m3u8", "hls", "ts", "mpd", "webm"})
STORYBOARD_PRODUCER = "storyboard"
LADDER_SIGNAL = "ladder"

_in_storyboard = Derivative.blob_key.like("derivatives/%/storyboard/%").label("in_storyboard")
_FILES = (select(Asset.kind, Derivative.producer, Derivative.format, _in_storyboard, func.count(),
                 func.coalesce(func.sum(Derivative.size_bytes), 0))
          .join(Asset, Asset.id == Derivative.asset_id)
          .where(Asset.project_id == bindparam("p_project"))
          .group_by(Asset.kind, Derivative.producer, Derivative.format, _in_storyboard))
#: the first (lowest, time-ordered id) asset of each original this project holds: one pass
#: over the assets and a hash join, not a lookup per asset (sha256 alone has no index)
_first = (select(Asset.sha256, func.min(Asset.id).label("first_id"))
          .where(Asset.sha256.in_(select(Asset.sha256).where(Asset.project_id == bindparam("p_project"))))
          .group_by(Asset.sha256).subquery())
#: a project holds an original once, so an earlier holder is another project's asset
_SHARED = (select(func.count(), func.coalesce(func.sum(Asset.size_bytes), 0))
           .join_from(Asset, _first, _first.c.sha256 == Asset.sha256)
           .where(Asset.project_id == bindparam("p_project"), _first.c.first_id < Asset.id))
_LADDERS = (select(Signal.value).join(Asset, Asset.id == Signal.asset_id)
            .where(Asset.project_id == bindparam("p_project"), Signal.name == LADDER_SIGNAL))


@dataclass(frozen=True)
class ClassUsage:
    kind: str
    cls: str
    files: int
    bytes: int


@dataclass(frozen=True)
class Savings:
    dedupe_bytes: int  # bytes of originals another project had stored first
    dedupe_assets: int
    per_title_bytes: int  # sum of fixed_bytes - bytes over every ladder rung
    fixed_ladder_bytes: int
    ladder_bytes: int
    titles: int  # videos with a ladder signal that has rungs


@dataclass(frozen=True)
class Breakdown:
    classes: tuple[ClassUsage, ...]  # by kind, then class
    savings: Savings

    @property
    def bytes(self) -> int:
        """Every file of the project's assets, originals counted for the project."""
        return sum(c.bytes for c in self.classes)

    @property
    def stored_bytes(self) -> int:
        """What the project adds to storage: shared originals paid by their first holder."""
        return self.bytes - self.savings.dedupe_bytes

    def to_dict(self, price_per_gb_month: float, bytes_per_gb: int) -> dict[str, Any]:
        def cost(n: int) -> float | None:
            return round(n / bytes_per_gb * price_per_gb_month, 6) if price_per_gb_month else None

        s = self.savings
        return {
            "bytes": self.bytes, "stored_bytes": self.stored_bytes,
            "stored_cost_per_month": cost(self.stored_bytes),
            "classes": [{"kind": c.kind, "class": c.cls, "files": c.files, "bytes": c.bytes,
                         "cost_per_month": cost(c.bytes)} for c in self.classes],
            "saved": {
                "dedupe": {"bytes": s.dedupe_bytes, "assets": s.dedupe_assets},
                "per_title": {"bytes": s.per_title_bytes, "fixed_ladder_bytes": s.fixed_ladder_bytes,
                              "ladder_bytes": s.ladder_bytes, "titles": s.titles},
            },
        }


def storage_class(kind: str, producer: str, fmt: str, in_storyboard: bool) -> str:
    """The class of one derivative file (see the module's docstring)."""
    if producer == STORYBOARD_PRODUCER or in_storyboard:
        return STORYBOARD
    if fmt.lower() in STREAMED_FORMATS:
        return RENDITION
    return DERIVATIVE if kind == "image" else OTHER


def breakdown(s: Session, project: str, originals: Iterable[tuple[str, int, int]]) -> Breakdown:
    """The project's breakdown, read in ``s`` (two grouped queries, and one row per video
    for the ladders); ``originals`` are (kind, assets, bytes) as the caller counted them."""
    params = {"p_project": project}
    totals: dict[tuple[str, str], list[int]] = {(kind, ORIGINAL): [n, size] for kind, n, size in originals}
    for kind, producer, fmt, in_storyboard, n, size in s.execute(_FILES, params):
        held = totals.setdefault((kind, storage_class(kind, producer, fmt, bool(in_storyboard))), [0, 0])
        held[0] += int(n)
        held[1] += int(size)
    order = {c: i for i, c in enumerate(CLASSES)}
    classes = tuple(ClassUsage(kind, cls, n, size) for (kind, cls), (n, size)
                    in sorted(totals.items(), key=lambda item: (item[0][0], order[item[0][1]])))
    shared_n, shared_bytes = s.execute(_SHARED, params).one()
    fixed, stored, titles = _ladders(s.scalars(_LADDERS, params))
    return Breakdown(classes, Savings(int(shared_bytes), int(shared_n), fixed - stored, fixed, stored, titles))


def _ladders(values: Iterable[Any]) -> tuple[int, int, int]:
    """(fixed-ladder bytes, per-title bytes, videos) over the rungs that give both as
    whole numbers; a malformed rung or signal is left out, never guessed."""
    fixed = stored = titles = 0
    for value in values:
        rungs = value.get("rungs") if isinstance(value, dict) else None
        counted = False
        for rung in rungs if isinstance(rungs, list) else ():
            if not isinstance(rung, dict):
                continue
            f, b = rung.get("fixed_bytes"), rung.get("bytes")
            if all(isinstance(x, int) and not isinstance(x, bool) and x >= 0 for x in (f, b)):
                fixed, stored, counted = fixed + f, stored + b, True
        titles += counted
    return fixed, stored, titles
