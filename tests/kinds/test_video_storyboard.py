"""A video's storyboard: the layout table, the sprite's tiles against ffmpeg's own frames
at the same times (upright), a WebVTT whose cues cover the video end to end inside the
sprite, scene cuts against ffmpeg's; through the API on SQLite and PostgreSQL."""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import numpy
import pytest
import pyvips

from tests.conftest import VIDEO, process_all
from tests.data.hostile.make_hostile_video import ffmpeg
from tests.kinds.test_video_poster import made_clips
from vitrina.kinds.video.storyboard import StoryboardStep
from vitrina.media.frames import scan
from vitrina.media.storyboard import plan, webvtt
from vitrina.pipeline.steps import StepContext


@pytest.fixture(scope="session")
def clips(tmp_path_factory) -> dict[str, Path]:
    return made_clips(tmp_path_factory)


@pytest.mark.parametrize(("duration", "size", "interval", "count", "columns", "tile"), [
    (5.3, (1280, 720), 2.0, 3, 3, (160, 90)),
    (10.0, (640, 272), 2.0, 5, 5, (160, 68)),
    (1.0, (360, 640), 2.0, 1, 1, (160, 284)),
    (199.0, (1920, 1080), 2.0, 100, 10, (160, 90)),
    (201.0, (1920, 1080), 3.0, 67, 10, (160, 90)),  # at most 100 tiles: whole seconds apart
    (3600.0, (1920, 1080), 36.0, 100, 10, (160, 90)),
    (4.0, (100, 1000), 2.0, 2, 2, (32, 320)),  # very tall: narrower tiles, not a taller sheet
])
def test_layout(duration, size, interval, count, columns, tile):
    layout = plan(duration, *size)
    assert (layout.interval, layout.count, layout.columns) == (interval, count, columns)
    assert (layout.tile_width, layout.tile_height) == tile
    assert layout.sheet_size == (columns * tile[0], -(-count // columns) * tile[1])


CUE = re.compile(r"^(\d\d):(\d\d):(\d\d)\.(\d{3}) --> (\d\d):(\d\d):(\d\d)\.(\d{3})$")
REGION = re.compile(r"^sprite\.jpg#xywh=(\d+),(\d+),(\d+),(\d+)$")


def parse_vtt(text: str) -> list[tuple[float, float, tuple[int, ...]]]:
    """(start, end, (x, y, w, h)) per cue; fails on anything but a header and cues."""
    blocks = text.strip().split("\n\n")
    assert blocks[0] == "WEBVTT"
    cues = []
    for block in blocks[1:]:
        timing, target = block.split("\n")
        t = [int(g) for g in CUE.fullmatch(timing).groups()]
        seconds = [h * 3600 + m * 60 + s + ms / 1000 for h, m, s, ms in (t[:4], t[4:])]
        cues.append((*seconds, tuple(int(g) for g in REGION.fullmatch(target).groups())))
    return cues


def assert_covers(cues, duration: float, sheet: tuple[int, int]) -> None:
    assert cues[0][0] == 0.0 and cues[-1][1] == pytest.approx(duration, abs=1e-3)
    for (_, end, _), (start, _, _) in itertools.pairwise(cues):
        assert start == end  # no gaps, no overlaps
    for start, end, (x, y, w, h) in cues:
        assert end > start and x + w <= sheet[0] and y + h <= sheet[1]


def test_the_vtt_covers_any_duration_inside_the_sheet():
    for duration in (0.5, 2.0, 5.3, 201.0, 3599.999):
        layout = plan(duration, 640, 272)
        assert_covers(parse_vtt(webvtt(layout, duration, "sprite.jpg")), duration, layout.sheet_size)


def run_step(runtime, path: Path):
    asset_id = runtime.ingestor.ingest_file(path).asset_id
    snapshot = runtime.asset_repository.snapshot(None, asset_id)
    return snapshot, StoryboardStep().run(StepContext(snapshot, runtime.store, runtime.settings, attempt=1))


def reference_frames(path: Path, interval: float, tile: tuple[int, int], out: Path) -> list[numpy.ndarray]:
    """ffmpeg's own frames (auto-rotated) at 0, interval, 2 x interval, ..., scaled to the tile."""
    ffmpeg("-i", str(path), "-vf", f"select='isnan(prev_selected_t)+gte(t-prev_selected_t,{interval})',"
           f"scale={tile[0]}:{tile[1]}:flags=area", "-fps_mode", "vfr", str(out / "ref-%03d.png"))
    return [pyvips.Image.new_from_file(str(p)).numpy()[..., :3].astype(float)
            for p in sorted(out.glob("ref-*.png"))]


@pytest.mark.parametrize(("source", "duration", "tile"), [("bikes", 10.0, (160, 68)), ("portrait", 3.0, (160, 284))])
def test_each_tile_is_the_frame_at_its_time(runtime, clips, tmp_path, source, duration, tile):
    path = VIDEO / "bikes.mp4" if source == "bikes" else clips[source]
    snapshot, result = run_step(runtime, path)
    sprite, vtt = result.derivatives
    assert sprite.blob_key == f"derivatives/{snapshot.id}/storyboard/sprite.jpg" and sprite.mime == "image/jpeg"
    assert vtt.blob_key == f"derivatives/{snapshot.id}/storyboard/storyboard.vtt" and vtt.mime == "text/vtt"
    signals = {s.name: s.value for s in result.signals}
    board = signals["storyboard"]
    assert board["tile"] == list(tile) and board["vtt"] == "storyboard/storyboard.vtt"
    assert board["sprites"] == ["storyboard/sprite.jpg"] and board["interval"] == 2.0
    image = pyvips.Image.new_from_buffer(runtime.store.read_bytes(sprite.blob_key), "").numpy().astype(float)
    assert (image.shape[1], image.shape[0]) == (sprite.width, sprite.height) == (board["columns"] * tile[0], tile[1])
    cues = parse_vtt(runtime.store.read_bytes(vtt.blob_key).decode())
    assert len(cues) == board["count"] == round(duration / 2)
    assert_covers(cues, duration, (sprite.width, sprite.height))
    tiles = [image[y:y + h, x:x + w] for _, _, (x, y, w, h) in cues]
    references = reference_frames(path, 2.0, tile, tmp_path)
    assert len(references) == len(tiles)
    for i, got in enumerate(tiles):
        diffs = [numpy.abs(got - ref).mean() for ref in references]
        assert diffs[i] < 10, (i, diffs)  # JPEG at 75: close to ffmpeg's frame at that time
        if source == "bikes":  # a different shot in each tile: the nearest reference is its own
            assert diffs[i] == min(diffs), (i, diffs)


@pytest.mark.parametrize(("source", "cuts"), [
    ("bikes", [1.2, 5.48, 7.48, 9.68]),  # what ffmpeg's select='gt(scene,0.3)' finds
    ("cut", [2.0]),
])
def test_scene_cuts_are_ffmpegs(clips, source, cuts):
    path = VIDEO / "bikes.mp4" if source == "bikes" else clips[source]
    assert scan(path, "mp4").scene_times() == cuts


def test_audio_only_has_no_storyboard(runtime, clips):
    _, result = run_step(runtime, clips["audio"])
    assert (result.derivatives, result.signals) == ((), ())


def test_the_storyboard_through_the_api(client, clips):
    r = client.post("/v1/assets", files={"file": ("cut.mp4", clips["cut"].read_bytes())})
    assert r.status_code == 201, r.text
    process_all(client.runtime)
    asset = client.get(f"/v1/assets/{r.json()['id']}").json()
    assert asset["status"] == "ready" and {s["step"]: s["state"] for s in asset["steps"]}["storyboard"] == "done"
    assert asset["signals"]["scenes"] == {"producer": "storyboard", "version": "1", "times": [2.0], "threshold": 0.2}
    assert asset["signals"]["storyboard"]["count"] == 2
    files = {d["mime"]: d for d in asset["derivatives"]}
    sprite = client.get(files["image/jpeg"]["url"])
    vtt = client.get(files["text/vtt"]["url"])
    assert sprite.status_code == vtt.status_code == 200
    assert pyvips.Image.new_from_buffer(sprite.content, "").width == 320
    assert_covers(parse_vtt(vtt.text), 4.0, (320, 90))
