"""The video probe (PyAV) on real clips, made shapes and hostile files."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from tests.data.hostile.make_hostile_video import FILES, clip, ffmpeg
from vitrina.errors import CorruptMedia, MediaTooLarge, UnsupportedMediaType
from vitrina.media.video import VideoLimits, external_references, probe_video

ROOT = Path(__file__).resolve().parents[2]
VIDEO = ROOT / "data" / "video"
HOSTILE = ROOT / "tests" / "data" / "hostile"
LIMITS = VideoLimits(max_duration_seconds=3600, max_bytes=2**31, max_pixels=3840 * 2160, max_fps=120,
                     max_streams=8)


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("clips")
    clip(d / "plain.mp4", "-movflags", "+faststart")
    ffmpeg("-i", str(d / "plain.mp4"), "-c", "copy", str(d / "plain.mkv"))
    ffmpeg("-display_rotation", "90", "-i", str(d / "plain.mp4"), "-c", "copy", str(d / "rotated.mp4"))
    ffmpeg("-i", str(d / "plain.mp4"), "-c", "copy", "-f", "mov", str(d / "plain.mov"))
    clip(d / "hdr.mp4", "-color_trc", "smpte2084", "-color_primaries", "bt2020", "-colorspace", "bt2020nc")
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=64x48:rate=24:duration=1", "-c:v", "libvpx-vp9",
           "-b:v", "50k", "-deadline", "realtime", str(d / "vp9.webm"))
    ffmpeg("-f", "lavfi", "-i", "sine=frequency=440:duration=1", "-c:a", "aac", str(d / "audio.mp4"))
    return d


def test_a_real_clip_gives_its_facts():
    info = probe_video(VIDEO / "bigbuckbunny.mp4", "mp4", LIMITS)
    assert (info.width, info.height, info.fps, info.video_codec) == (1280, 720, 25.0, "h264")
    assert info.duration == pytest.approx(5.3, abs=0.05) and info.frames == 132
    assert info.has_audio and info.audio[0].codec == "aac" and info.rotation == 0 and info.hdr is None
    meta = info.to_dict()
    assert meta["has_audio"] is True and meta["audio"][0]["sample_rate"] == 48000
    silent = probe_video(VIDEO / "bikes.mp4", "mp4", LIMITS)
    assert (silent.width, silent.height, silent.has_audio) == (640, 272, False)


@pytest.mark.parametrize(("name", "container", "codec"),
                         [("plain.mp4", "mp4", "h264"), ("plain.mkv", "mkv", "h264"),
                          ("plain.mov", "mov", "h264"), ("vp9.webm", "webm", "vp9")])
def test_each_container(clips, name, container, codec):
    info = probe_video(clips / name, container, LIMITS)
    assert (info.width, info.height, info.video_codec, info.fps) == (64, 48, codec, 24.0)
    assert info.duration == pytest.approx(1.0, abs=0.06)


def test_the_display_matrix_turns_width_and_height(clips):
    info = probe_video(clips / "rotated.mp4", "mp4", LIMITS)
    assert (info.width, info.height, info.rotation) == (48, 64, 90)


def test_hdr_transfer_and_primaries_are_flagged(clips):
    info = probe_video(clips / "hdr.mp4", "mp4", LIMITS)
    assert (info.hdr, info.color_transfer, info.color_primaries) == ("pq", "smpte2084", "bt2020")


def test_audio_only_keeps_its_audio(clips):
    info = probe_video(clips / "audio.mp4", "mp4", LIMITS)
    assert not info.has_video and info.has_audio and (info.width, info.height) == (0, 0)
    assert info.duration == pytest.approx(1.0, abs=0.06)


@pytest.mark.parametrize(("limit", "value"), [("max_duration_seconds", 0.5), ("max_bytes", 1000),
                                              ("max_pixels", 64 * 48 - 1), ("max_fps", 23.0),
                                              ("max_streams", 1)])
def test_each_limit_is_a_media_too_large(clips, limit, value):
    with pytest.raises(MediaTooLarge) as err:
        probe_video(clips / "plain.mp4", "mp4", replace(LIMITS, **{limit: value}))
    assert err.value.status == 422 and err.value.code == "media_too_large" and err.value.details


def test_a_header_that_understates_the_length_is_stopped_while_demuxing(clips, tmp_path):
    # Matroska with no duration in its header: the packets decide, and the limit holds
    path = tmp_path / "live.mkv"
    ffmpeg("-i", str(clips / "plain.mp4"), "-c", "copy", "-live", "1", "-f", "matroska", str(path))
    with pytest.raises(MediaTooLarge):
        probe_video(path, "mkv", replace(LIMITS, max_duration_seconds=0.5))


HOSTILE_VIDEOS = [
    ("truncated.mp4", CorruptMedia, "corrupt_media"),
    ("noise_after_ftyp.mp4", CorruptMedia, "corrupt_media"),
    ("random.mp4", CorruptMedia, "corrupt_media"),
    ("playlist_passwd.mp4", UnsupportedMediaType, "unsupported_media_type"),
    ("external_dref.mp4", UnsupportedMediaType, "unsupported_media_type"),
    ("external_dref.mov", UnsupportedMediaType, "unsupported_media_type"),
    ("linked_segment.mkv", UnsupportedMediaType, "unsupported_media_type"),
]


def test_every_video_fixture_has_a_test():
    assert set(FILES) == {name for name, _, _ in HOSTILE_VIDEOS}
    assert all((HOSTILE / name).is_file() for name in FILES)


@pytest.mark.parametrize(("name", "error", "code"), HOSTILE_VIDEOS)
def test_hostile_files_are_refused(name, error, code):
    with pytest.raises(error) as err:
        probe_video(HOSTILE / name, Path(name).suffix[1:], LIMITS)
    assert err.value.code == code and 400 <= err.value.status < 500
    assert "/etc/passwd" not in str(err.value.to_dict()) and str(HOSTILE) not in str(err.value.to_dict())


def test_a_truncated_matroska_is_refused(clips, tmp_path):
    data = (clips / "plain.mkv").read_bytes()
    path = tmp_path / "cut.mkv"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CorruptMedia):
        probe_video(path, "mkv", LIMITS)


def test_self_contained_references_pass_and_external_ones_are_listed(clips):
    with open(clips / "plain.mp4", "rb") as f:
        assert external_references(f, (clips / "plain.mp4").stat().st_size) == []
    path = HOSTILE / "external_dref.mp4"
    with open(path, "rb") as f:
        assert external_references(f, path.stat().st_size) == ["url ", "url "]


def test_alias_and_resource_references_are_external(tmp_path):
    # a dref with one Mac alias entry (flags 0): the data lives elsewhere
    alis = (12).to_bytes(4, "big") + b"alis" + b"\x00\x00\x00\x00"
    dref = b"\x00\x00\x00\x00" + (1).to_bytes(4, "big") + alis
    def box(kind: bytes, body: bytes) -> bytes:
        return (8 + len(body)).to_bytes(4, "big") + kind + body

    data = box(b"ftyp", b"qt  \x00\x00\x00\x00qt  ") + box(b"moov", box(b"trak", box(b"mdia", box(
        b"minf", box(b"dinf", box(b"dref", dref))))))
    path = tmp_path / "alias.mov"
    path.write_bytes(data)
    with open(path, "rb") as f:
        assert external_references(f, len(data)) == ["alis"]
    with pytest.raises(UnsupportedMediaType):
        probe_video(path, "mov", LIMITS)


def test_an_unknown_container_is_refused(clips):
    with pytest.raises(UnsupportedMediaType):
        probe_video(clips / "plain.mp4", "hls", LIMITS)
