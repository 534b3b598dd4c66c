"""A video's storyboard: thumbnails at a fixed interval tiled into one sprite sheet, and
a WebVTT file naming, for each time range, the region of the sheet that shows it
(``sprite.jpg#xywh=x,y,w,h``, the form players' thumbnail tracks read)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy
import pyvips

from vitrina.media.encode import RENDITION, encode

TILE_WIDTH = 160
#: a very tall video gets narrower tiles rather than a sheet too tall for a JPEG
MAX_TILE_HEIGHT = 320
#: seconds between thumbnails, longer for a long video so that it has at most MAX_TILES
BASE_INTERVAL = 2.0
MAX_TILES = 100
COLUMNS = 10
SPRITE_QUALITY = 75


@dataclass(frozen=True)
class Layout:
    """Where each thumbnail goes: tile ``i`` shows ``[i * interval, (i + 1) * interval)``
    (the last one ends with the video) at column ``i % columns``, row ``i // columns``."""

    interval: float
    tile_width: int
    tile_height: int
    columns: int
    count: int

    @property
    def rows(self) -> int:
        return -(-self.count // self.columns)

    @property
    def sheet_size(self) -> tuple[int, int]:
        return self.columns * self.tile_width, self.rows * self.tile_height

    def times(self) -> list[float]:
        return [i * self.interval for i in range(self.count)]

    def region(self, i: int) -> tuple[int, int, int, int]:
        return ((i % self.columns) * self.tile_width, (i // self.columns) * self.tile_height,
                self.tile_width, self.tile_height)


def plan(duration: float, width: int, height: int) -> Layout:
    """The layout for a ``duration`` s video displayed at ``width`` x ``height``: tiles
    160 px wide in its aspect, every 2 s, or every whole number of seconds that keeps a
    long video to :data:`MAX_TILES`."""
    interval = max(BASE_INTERVAL, float(math.ceil(duration / MAX_TILES)))
    count = max(1, math.ceil(round(duration / interval, 6)))
    tile_w, tile_h = TILE_WIDTH, max(1, round(TILE_WIDTH * height / width))
    if tile_h > MAX_TILE_HEIGHT:
        tile_w, tile_h = max(1, round(MAX_TILE_HEIGHT * width / height)), MAX_TILE_HEIGHT
    return Layout(interval, tile_w, tile_h, min(COLUMNS, count), count)


def sprite_jpeg(tiles: Sequence[numpy.ndarray], layout: Layout) -> bytes:
    """The tiles (upright RGB, each tile_height x tile_width) on one sheet, as a JPEG."""
    if len(tiles) != layout.count:
        raise ValueError(f"{len(tiles)} tiles for a layout of {layout.count}")
    width, height = layout.sheet_size
    sheet = numpy.zeros((height, width, 3), dtype=numpy.uint8)
    for i, tile in enumerate(tiles):
        x, y, w, h = layout.region(i)
        sheet[y:y + h, x:x + w] = tile
    return encode(pyvips.Image.new_from_array(sheet, interpretation="srgb"), "jpeg", SPRITE_QUALITY, RENDITION)


def webvtt(layout: Layout, duration: float, sprite: str) -> str:
    """One cue per tile, end to end from 0 to ``duration``; ``sprite`` is the sheet's URI
    relative to the VTT file."""
    end_of_video = max(duration, 0.001)  # a cue must end after it starts
    lines = ["WEBVTT", ""]
    for i, start in enumerate(layout.times()):
        end = end_of_video if i == layout.count - 1 else min((i + 1) * layout.interval, end_of_video)
        x, y, w, h = layout.region(i)
        lines += [f"{_timestamp(start)} --> {_timestamp(end)}", f"{sprite}#xywh={x},{y},{w},{h}", ""]
    return "\n".join(lines)


def _timestamp(seconds: float) -> str:
    ms = round(seconds * 1000)
    return f"{ms // 3_600_000:02d}:{ms // 60_000 % 60:02d}:{ms // 1000 % 60:02d}.{ms % 1000:03d}"
