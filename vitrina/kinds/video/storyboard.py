"""The storyboard step: a sprite sheet of thumbnails with its WebVTT map, and the scene
cuts, from one decode of the video (decision 020).

The files are derivatives under ``derivatives/{asset}/storyboard/``; the VTT names the
sheet relatively (``sprite.jpg#xywh=...``), so it resolves wherever the playback route
serves the asset's files. Audio only: nothing to do.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from vitrina.kinds.video.steps import VIDEO
from vitrina.media.frames import SCENE_THRESHOLD, scan
from vitrina.media.storyboard import Layout, plan, sprite_jpeg, webvtt
from vitrina.media.video import VideoInfo
from vitrina.pipeline.steps import DerivativeOut, SignalOut, StepContext, StepResult, budget_of

SPRITE = "sprite.jpg"
VTT = "storyboard.vtt"


def storyboard_key(asset_id: str, name: str) -> str:
    # fixed keys per asset: a retried step overwrites its own blobs
    return f"derivatives/{asset_id}/storyboard/{name}"


@dataclass(frozen=True)
class StoryboardStep:
    name: str = "storyboard"
    version: str = "1"
    kind: str = VIDEO
    requires: tuple[str, ...] = ("probe",)
    budget_seconds: float | None = None

    def run(self, ctx: StepContext) -> StepResult:
        info = VideoInfo.from_dict(ctx.asset.meta)
        if not info.has_video:
            return StepResult()
        layout = plan(info.duration, info.width, info.height)
        budget = budget_of(self, ctx.settings)
        with ctx.original_path() as path:
            seen = scan(path, info.container, grab_times=layout.times(), grab_width=layout.tile_width,
                        grab_height=layout.tile_height, deadline=time.monotonic() + budget,
                        progress=ctx.progress, duration=info.duration)
        if not seen.grabs:
            return StepResult()
        sprite = sprite_jpeg([g.pixels for g in seen.grabs], layout)
        vtt = webvtt(layout, info.duration, SPRITE).encode()
        sheet_w, sheet_h = layout.sheet_size
        derivatives = [
            self._put(ctx, SPRITE, sprite, sheet_w, sheet_h, "jpeg", "image/jpeg"),
            # a VTT has no pixels: it is given the size of the thumbnails it maps
            self._put(ctx, VTT, vtt, layout.tile_width, layout.tile_height, "vtt", "text/vtt"),
        ]
        signals = [
            SignalOut("scenes", self.name, self.version,
                      {"times": seen.scene_times(), "threshold": SCENE_THRESHOLD}),
            SignalOut("storyboard", self.name, self.version, _described(layout)),
        ]
        return StepResult(derivatives=derivatives, signals=signals)

    @staticmethod
    def _put(ctx: StepContext, name: str, data: bytes, width: int, height: int, fmt: str,
             mime: str) -> DerivativeOut:
        key = storyboard_key(ctx.asset.id, name)
        ctx.store.put_bytes(key, data, durable=False)  # derived: can be made again
        return DerivativeOut(width, height, fmt, mime, len(data), key)


def _described(layout: Layout) -> dict:
    return {"vtt": f"storyboard/{VTT}", "sprites": [f"storyboard/{SPRITE}"], "interval": layout.interval,
            "tile": [layout.tile_width, layout.tile_height], "columns": layout.columns, "count": layout.count}
