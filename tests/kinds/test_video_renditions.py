"""The video ladder: one ffmpeg run, H.264/AAC rungs never above the source, keyframes
aligned across rungs; and the renditions step through the API on both catalogs. HLS
and per-title rates: test_video_ladder_*.py, test_per_title_*.py."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import imageio_ffmpeg
import pytest

from tests.conftest import VIDEO, process_all
from tests.data.hostile.make_hostile_video import clip, ffmpeg
from vitrina.media.ladder import Rendition, ladder, ladder_command, make_ladder
from vitrina.media.video import VideoLimits, probe_video

LIMITS = VideoLimits(max_duration_seconds=3600, max_bytes=2**31, max_pixels=3840 * 2160, max_fps=120,
                     max_streams=8)
FFMPEG = imageio_ffmpeg.get_ffmpeg_exe()
MEMORY = 4 << 30


def make_renditions(src: Path, out: Path, timeout: float = 60) -> list[Rendition]:
    """The progressive files of the ladder of ``src`` (the HLS files are checked elsewhere)."""
    made = make_ladder(FFMPEG, src, "mp4", probe_video(src, "mp4", LIMITS), out, timeout=timeout,
                       memory_bytes=MEMORY)
    return [f for f in made.files if f.format in ("mp4", "m4a")]


@pytest.mark.parametrize(("source", "sizes"), [
    ((1920, 1080), [(1920, 1080), (1280, 720), (854, 480), (640, 360)]),
    ((1280, 720), [(1280, 720), (854, 480), (640, 360)]),
    ((1080, 1920), [(1080, 1920), (720, 1280), (480, 854), (360, 640)]),
    ((3840, 1600), [(2592, 1080), (1728, 720), (1152, 480), (864, 360)]),
    ((640, 272), [(640, 272)]),  # under the smallest rung: its own size
    ((101, 57), [(100, 56)]),  # even, never above
])
def test_ladder_never_above_the_source(source, sizes):
    assert [(r.width, r.height) for r in ladder(*source)] == sizes


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("ladder")
    return clip(d / "src.mp4", size="640x360", seconds=1.5)


def keyframe_times(path: Path) -> list[float]:
    with av.open(str(path)) as c:
        v = c.streams.video[0]
        return [round(float(p.pts * p.time_base), 3) for p in c.demux(v) if p.size and p.is_keyframe]


def test_one_run_makes_every_rung_aligned(source, tmp_path):
    info = probe_video(source, "mp4", LIMITS)
    cmd, _ = ladder_command(FFMPEG, source, "mp4", info, tmp_path, crf=23)
    assert cmd.count("-i") == 1 and "-filter_complex" in cmd and "-nostdin" in cmd
    assert cmd[cmd.index("-protocol_whitelist") + 1] == "file" and cmd.index("-protocol_whitelist") < cmd.index("-i")
    out = make_renditions(source, tmp_path)
    assert [(r.width, r.height) for r in out] == [(640, 360)]  # 360p source: one rung
    frame = 1 / info.fps
    for r in out:
        got = probe_video(r.path, "mp4", LIMITS)
        assert (got.video_codec, got.audio[0].codec, got.width, got.height) == ("h264", "aac", r.width, r.height)
        assert abs(got.duration - info.duration) <= frame + 0.03  # AAC priming may add a packet
        assert got.frames == info.frames
        with open(r.path, "rb") as f:
            assert b"moov" in f.read(4096)  # +faststart: the index comes first


def test_keyframes_fall_at_the_same_times_on_every_rung(tmp_path):
    src = clip(tmp_path / "hd.mp4", size="1280x720", seconds=2.5)
    out = make_renditions(src, tmp_path, timeout=120)
    assert [(r.width, r.height) for r in out] == [(1280, 720), (854, 480), (640, 360)]
    times = [keyframe_times(r.path) for r in out]
    assert times[0] == [0.0, 2.0] and all(t == times[0] for t in times)
    for r in out:
        with av.open(str(r.path)) as c:
            v = c.streams.video[0]
            assert Fraction(v.average_rate) == 24 and v.codec_context.pix_fmt == "yuv420p"


def test_rotation_is_applied_to_the_pixels(tmp_path):
    plain = clip(tmp_path / "plain.mp4", size="640x360")
    rotated = tmp_path / "rotated.mp4"
    ffmpeg("-display_rotation", "90", "-i", str(plain), "-c", "copy", str(rotated))
    out = make_renditions(rotated, tmp_path)
    assert [(r.width, r.height) for r in out] == [(360, 640)]
    got = probe_video(out[0].path, "mp4", LIMITS)
    assert (got.width, got.height, got.rotation) == (360, 640, 0)


def test_audio_only_keeps_its_audio(tmp_path):
    src = tmp_path / "audio.mp4"
    ffmpeg("-f", "lavfi", "-i", "sine=frequency=440:duration=1", "-c:a", "aac", str(src))
    [out] = make_renditions(src, tmp_path)
    got = probe_video(out.path, "mp4", LIMITS)
    assert out.mime == "audio/mp4" and not got.has_video and got.audio[0].codec == "aac"


def test_ffmpeg_is_killed_over_its_timeout(source, tmp_path):
    with pytest.raises(TimeoutError):
        make_renditions(source, tmp_path, timeout=0.01)


def test_renditions_through_the_api(client):
    r = client.post("/v1/assets", files={"file": ("bikes.mp4", (VIDEO / "bikes.mp4").read_bytes())})
    assert r.status_code == 201, r.text
    process_all(client.runtime)
    asset = client.get(f"/v1/assets/{r.json()['id']}").json()
    assert asset["status"] == "ready", asset
    mp4 = [d for d in asset["derivatives"] if d["mime"] == "video/mp4" and d["url"].endswith(".mp4")]
    assert [(d["width"], d["height"]) for d in mp4] == [(640, 272)]
    assert {s["step"]: s["state"] for s in asset["steps"]}["renditions"] == "done"
    got = client.get(mp4[0]["url"])
    assert got.status_code == 200 and got.headers["content-type"] == "video/mp4" and got.content[4:8] == b"ftyp"
