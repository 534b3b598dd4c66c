"""What a page shows of an asset: its tile in a grid (picture or placeholder, status,
the progress of its steps while it is processed)."""

from __future__ import annotations

from dataclasses import dataclass

from vitrina.assets.records import AssetRecord
from vitrina.assets.states import AssetStatus, StepState
from vitrina.assets.views import progress_of
from vitrina.ui.placeholders import placeholder
from vitrina.ui.urls import THUMB, Urls

#: statuses after which nothing changes by itself: a tile stops asking for news
SETTLED = frozenset({AssetStatus.READY, AssetStatus.FAILED})


@dataclass(frozen=True)
class StepProgress:
    step: str
    state: str
    percent: int | None  # None before a running step's first report


@dataclass(frozen=True)
class Card:
    id: str
    label: str
    kind: str
    status: str
    settled: bool
    thumb: str | None
    placeholder: str | None
    steps: tuple[StepProgress, ...]
    error: str | None

    @property
    def percent(self) -> int:
        """The share of the asset's steps done, counting a running one's own progress."""
        if not self.steps:
            return 100 if self.settled else 0
        done = sum(100 if s.state == StepState.DONE else (s.percent or 0) for s in self.steps)
        return done // len(self.steps)


def card(asset: AssetRecord, urls: Urls) -> Card:
    return Card(
        id=asset.id, label=asset.metadata.title or asset.filename or asset.id, kind=asset.kind,
        status=asset.status.value, settled=asset.status in SETTLED, thumb=thumbnail(asset, urls),
        placeholder=placeholder(asset.signals, asset.width, asset.height),
        steps=tuple(StepProgress(r.step, r.state.value,
                                 None if (p := progress_of(r)) is None else round(p * 100))
                    for r in asset.steps),
        error=asset.error)


def thumbnail(asset: AssetRecord, urls: Urls, ops: str = THUMB) -> str | None:
    """A ready image's own picture; a video's poster (an image asset of its own)."""
    if asset.status != AssetStatus.READY:
        return None
    if asset.kind == "image":
        return urls.image(asset.id, ops)
    poster = asset.signals.get("poster")
    poster_id = poster.value.get("asset_id") if poster is not None else None
    return urls.image(poster_id, ops) if isinstance(poster_id, str) else None


@dataclass(frozen=True)
class Drawn:
    """What the analysers found, in the picture's pixels (an SVG over it uses its size
    as the view box): faces, the salient point, the boxes of the text read."""

    width: int
    height: int
    faces: tuple[tuple[float, float, float, float], ...]
    salient: tuple[float, float] | None
    text: tuple[tuple[str, str], ...]  # (SVG polygon points, the words)

    @property
    def empty(self) -> bool:
        return not (self.faces or self.salient or self.text)


def signals(asset: AssetRecord) -> Drawn | None:
    """The signals to draw on an image; None without its size."""
    if not asset.width or not asset.height:
        return None
    w, h = asset.width, asset.height
    focus = asset.signals.get("focus")
    value = focus.value if focus is not None else {}
    faces = tuple((x * w, y * h, bw * w, bh * h) for x, y, bw, bh in _boxes(value.get("faces")))
    point = value.get("salient")
    salient = (point[0] * w, point[1] * h) if _numbers(point, 2) else None
    ocr = asset.signals.get("ocr")
    lines = ocr.value.get("lines", []) if ocr is not None else []
    text = tuple((" ".join(f"{x:g},{y:g}" for x, y in line["box"]), str(line.get("text", "")))
                 for line in lines if isinstance(line, dict) and isinstance(line.get("box"), list)
                 and all(_numbers(p, 2) for p in line["box"]))
    return Drawn(w, h, faces, salient, text)


def _boxes(value: object) -> list[tuple[float, float, float, float]]:
    return [tuple(b) for b in value if _numbers(b, 4)] if isinstance(value, list) else []


def _numbers(value: object, n: int) -> bool:
    return isinstance(value, list | tuple) and len(value) == n and \
        all(isinstance(v, int | float) and not isinstance(v, bool) for v in value)
