"""The ladder with real ffmpeg on real and generated clips: progressive MP4s and HLS
from one encode, checked with PyAV and by reading the playlists; the ladder signal; the
limits every ffmpeg run is held to."""

from __future__ import annotations

import re
import subprocess
from fractions import Fraction
from pathlib import Path

import av
import imageio_ffmpeg
import pytest

from tests.conftest import VIDEO
from tests.data.hostile.make_hostile_video import ffmpeg
from vitrina.media import hls
from vitrina.media.ffmpeg_run import TranscodeFailed, run_ffmpeg
from vitrina.media.ladder import Ladder, ladder, ladder_command, make_ladder
from vitrina.media.video import VideoInfo, VideoLimits, probe_video

LIMITS = VideoLimits(max_duration_seconds=3600, max_bytes=2**31, max_pixels=3840 * 2160, max_fps=120,
                     max_streams=8)
FFMPEG = imageio_ffmpeg.get_ffmpeg_exe()
MEMORY = 4 << 30


def _testsrc(path: Path, size: str, rate: int | str, seconds: float, *extra: str, audio: bool = True) -> Path:
    sound = ["-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}", "-c:a", "aac"] if audio else []
    ffmpeg("-f", "lavfi", "-i", f"testsrc2=size={size}:rate={rate}:duration={seconds}", *sound,
           "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", *extra, str(path))
    return path


@pytest.fixture(scope="session")
def clips(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("ladder-clips")
    plain = _testsrc(d / "plain.mp4", "640x360", 24, 1.0)
    portrait = d / "portrait.mp4"
    ffmpeg("-display_rotation", "90", "-i", str(plain), "-c", "copy", str(portrait))
    audio = d / "audio.mp4"
    ffmpeg("-f", "lavfi", "-i", "sine=frequency=440:duration=2", "-c:a", "aac", str(audio))
    return {
        "bigbuckbunny": VIDEO / "bigbuckbunny.mp4",  # 1280x720, 25 fps, 5.3 s, AAC: three rungs
        "bikes": VIDEO / "bikes.mp4",  # 640x272, 10 s, no audio: one rung, two segments
        "odd": _testsrc(d / "odd.mp4", "1278x718", 24, 2.5),  # odd size: two rungs, even sizes
        "silent": _testsrc(d / "silent.mp4", "320x180", 10, 13.0, audio=False),  # three segments
        "ntsc": _testsrc(d / "ntsc.mp4", "320x180", "30000/1001", 13.0, audio=False),  # GOPs of 2.002 s
        "portrait": portrait,  # recorded 640x360 with a 90 degree display matrix
        "fps60": _testsrc(d / "fps60.mp4", "320x180", 60, 1.0),
        "ten_bit": _testsrc(d / "ten_bit.mp4", "320x180", 24, 1.0, "-pix_fmt", "yuv420p10le",
                            "-profile:v", "high10"),
        "audio_only": audio,
    }


VIDEOS = ["bigbuckbunny", "bikes", "odd", "silent", "portrait", "fps60", "ten_bit"]
_made: dict[str, tuple[VideoInfo, Ladder, list[float]]] = {}


@pytest.fixture(scope="session")
def made(clips, tmp_path_factory):
    """The ladder of a clip, made once per session, with the progress it reported."""
    def of(name: str) -> tuple[VideoInfo, Ladder, list[float]]:
        if name not in _made:
            info = probe_video(clips[name], "mp4", LIMITS)
            fractions: list[float] = []
            out = make_ladder(FFMPEG, clips[name], "mp4", info, tmp_path_factory.mktemp(name), timeout=120,
                              memory_bytes=MEMORY, progress=fractions.append)
            _made[name] = info, out, fractions
        return _made[name]
    return of


def files(out: Ladder, fmt: str) -> list:
    return [f for f in out.files if f.format == fmt]


def keyframe_times(path: Path) -> list[float]:
    with av.open(str(path)) as c:
        v = c.streams.video[0]
        return [round(float(p.pts * p.time_base), 3) for p in c.demux(v) if p.size and p.is_keyframe]


def attributes(line: str) -> dict[str, str]:
    return {k: v.strip('"') for k, v in re.findall(r'([A-Z0-9-]+)=("[^"]*"|[^,]*)', line.split(":", 1)[1])}


def media_playlist(path: Path) -> tuple[dict[str, str], list[tuple[float, int, int, str]]]:
    """The tags of a media playlist and its segments (seconds, length, offset, URI)."""
    tags, segs, pending = {}, [], {}
    for line in path.read_text().splitlines():
        if line.startswith("#EXTINF:"):
            pending["seconds"] = float(line[8:].split(",")[0])
        elif line.startswith("#EXT-X-BYTERANGE:"):
            length, offset = line[17:].split("@")
            pending["range"] = (int(length), int(offset))
        elif line.startswith("#"):
            key, _, value = line.partition(":")
            tags[key] = value
        elif line:
            segs.append((pending["seconds"], *pending["range"], line))
            pending = {}
    return tags, segs


def master_playlist(path: Path) -> list[tuple[dict[str, str], str]]:
    lines = path.read_text().splitlines()
    assert lines[0] == "#EXTM3U"
    return [(attributes(line), lines[i + 1]) for i, line in enumerate(lines) if line.startswith("#EXT-X-STREAM-INF:")]


@pytest.mark.parametrize("name", VIDEOS)
def test_rungs_are_h264_aac_of_the_right_size_and_length(made, name):
    info, out, _ = made(name)
    mp4s = files(out, "mp4")
    assert [(f.width, f.height) for f in mp4s] == [(r.width, r.height) for r in ladder(info.width, info.height)]
    for f in mp4s:
        got = probe_video(f.path, "mp4", LIMITS)
        assert (got.video_codec, got.width, got.height, got.rotation, got.pix_fmt) == (
            "h264", f.width, f.height, 0, "yuv420p")
        assert [a.codec for a in got.audio] == (["aac"] if info.has_audio else [])
        assert abs(got.duration - info.duration) <= 1 / info.fps + 0.03  # AAC priming may add a packet
        assert got.frames == info.frames and got.fps == info.fps
        assert f.width % 2 == 0 and f.height % 2 == 0


def test_odd_and_rotated_sources_give_even_upright_rungs(made):
    assert [(f.width, f.height) for f in files(made("odd")[1], "mp4")] == [(854, 480), (640, 360)]
    assert [(f.width, f.height) for f in files(made("portrait")[1], "mp4")] == [(360, 640)]


@pytest.mark.parametrize("name", ["bigbuckbunny", "odd", "silent", "ntsc"])
def test_keyframes_fall_every_two_seconds_on_every_rung_and_segment_start(made, name):
    info, out, _ = made(name)
    times = [keyframe_times(f.path) for f in files(out, "mp4")]
    assert all(t == times[0] for t in times)
    gop = round(info.fps * 2) / info.fps  # 2.002 s at 29.97 fps
    assert times[0] == pytest.approx([gop * i for i in range(len(times[0]))], abs=0.001)
    assert times[0][-1] > info.duration - gop
    for playlist in files(out, "m3u8"):
        _, segs = media_playlist(playlist.path)
        starts = [sum(s[0] for s in segs[:i]) for i in range(len(segs))]
        assert all(min(abs(s - t) for t in times[0]) < 0.001 for s in starts)  # each on a keyframe


@pytest.mark.parametrize(("gop", "fps", "hls_time"), [(50, 25, 5.999), (60, 30000 / 1001, 6.005), (15, 7.7, 5.843)])
def test_hls_time_is_just_under_three_gops(gop, fps, hls_time):
    assert hls.segment_seconds(gop, fps) == hls_time
    assert 3 * gop / fps - 0.002 < hls_time < 3 * gop / fps


@pytest.mark.parametrize("name", [*VIDEOS, "ntsc", "audio_only"])
def test_each_rung_is_one_byte_ranged_fmp4_file_with_six_second_segments(made, name):
    info, out, _ = made(name)
    playlists = files(out, "m3u8")
    assert playlists and all(p.name.startswith("hls/") for p in out.files if p.format in ("m3u8", "m4s", "hls"))
    for p in playlists:
        tags, segs = media_playlist(p.path)
        assert tags["#EXT-X-PLAYLIST-TYPE"] == "VOD" and "#EXT-X-ENDLIST" in tags
        assert int(tags["#EXT-X-VERSION"]) >= 6 and int(tags["#EXT-X-TARGETDURATION"]) <= 6
        media = p.path.with_suffix(".m4s")
        init = attributes("X:" + tags["#EXT-X-MAP"])
        assert init["URI"] == media.name and {s[3] for s in segs} == {media.name}  # relative, one file
        length, offset = map(int, init["BYTERANGE"].split("@"))
        cursor = offset + length
        for seconds, length, offset, _ in segs:  # contiguous ranges that end at the file's end
            assert offset == cursor
            cursor += length
        assert cursor == media.stat().st_size
        durations = [s[0] for s in segs]
        assert all(4 <= d <= 6.01 for d in durations[:-1]) and 0 < durations[-1] <= 6.01
        if info.has_video and len(durations) > 1:  # three GOPs each
            assert durations[0] == pytest.approx(3 * round(info.fps * 2) / info.fps, abs=0.001)
        assert abs(sum(durations) - info.duration) <= 0.1


@pytest.mark.parametrize("name", VIDEOS)
def test_master_playlist_says_what_each_rung_is(made, name):
    info, out, _ = made(name)
    [master] = files(out, "hls")
    assert master.name == "hls/master.m3u8" and out.signal["hls"] == master.name
    variants = master_playlist(master.path)
    mp4s = files(out, "mp4")
    assert [uri for _, uri in variants] == [f"h{f.height}w{f.width}.m3u8" for f in mp4s]
    for (attrs, uri), mp4 in zip(variants, mp4s):
        assert attrs["RESOLUTION"] == f"{mp4.width}x{mp4.height}"
        assert float(attrs["FRAME-RATE"]) == pytest.approx(info.fps, abs=0.001)
        with av.open(str(mp4.path)) as c:
            cc = c.streams.video[0].codec_context
            assert cc.profile == "High"
            expected = f"avc1.6400{cc.level:02x}"
        # the codec string as the HLS init segment itself states it (its avcC box)
        init = (master.path.parent / uri).with_suffix(".m4s").read_bytes()[:4096]
        avcc = init[init.index(b"avcC") + 4:]
        assert hls.avc1_codec(avcc) == expected
        assert attrs["CODECS"] == ",".join([expected] + (["mp4a.40.2"] if info.has_audio else []))
        _, segs = media_playlist(master.path.parent / uri)
        seconds, size = sum(s[0] for s in segs), sum(s[1] for s in segs)
        assert int(attrs["AVERAGE-BANDWIDTH"]) == pytest.approx(size * 8 / seconds, rel=0.01)
        assert int(attrs["BANDWIDTH"]) >= int(attrs["AVERAGE-BANDWIDTH"]) > 0


def test_hls_plays_through_ffmpegs_own_hls_reader(made):
    info, out, _ = made("bikes")
    [master] = files(out, "hls")
    with av.open(str(master.path), format="hls", options={"protocol_whitelist": "file"}) as c:
        v = c.streams.video[0]
        assert (v.codec_context.width, v.codec_context.height) == (640, 272)
        assert sum(1 for p in c.demux(v) if p.size) == info.frames


def test_audio_only_is_one_aac_rendition_and_an_audio_playlist(made):
    info, out, _ = made("audio_only")
    assert sorted(f.name for f in out.files) == ["audio.m4a", "hls/audio.m3u8", "hls/audio.m4s", "hls/master.m3u8"]
    [(attrs, uri)] = master_playlist(files(out, "hls")[0].path)
    assert uri == "audio.m3u8" and attrs["CODECS"] == "mp4a.40.2" and "RESOLUTION" not in attrs
    got = probe_video(files(out, "m4a")[0].path, "mp4", LIMITS)
    assert not got.has_video and got.audio[0].codec == "aac" and abs(got.duration - info.duration) < 0.05
    assert out.signal["rungs"] == [] and out.signal["hls"] == "hls/master.m3u8"


def test_the_ladder_signal(made):
    info, out, _ = made("bigbuckbunny")
    s = out.signal
    assert set(s) == {"target", "hls", "rungs"} and s["target"] == {"metric": "ssim", "value": 0.98}
    mp4s = files(out, "mp4")
    assert [(r["width"], r["height"]) for r in s["rungs"]] == [(f.width, f.height) for f in mp4s]
    assert [r["maxrate_kbps"] for r in s["rungs"]] == [2800, 1402, 800]
    for r, f in zip(s["rungs"], mp4s):
        assert set(r) == {"width", "height", "crf", "maxrate_kbps", "bytes", "bitrate_kbps", "ssim",
                          "fixed_kbps", "fixed_bytes"}
        assert r["bytes"] == f.path.stat().st_size
        assert r["bitrate_kbps"] == pytest.approx(r["bytes"] * 8 / info.duration / 1000, abs=0.1)
        assert r["fixed_bytes"] == round(r["fixed_kbps"] * 1000 / 8 * info.duration)
        assert 18 <= r["crf"] <= 30 and 0.9 < r["ssim"] <= 1


def test_recorded_ssim_is_what_ffmpegs_ssim_filter_measures(made, clips):
    """The rung's SSIM (x264's, luma, whole title) against ffmpeg's ssim filter on the
    decoded rung and the source scaled the way the ladder scales it."""
    _, out, _ = made("odd")
    rung, f = out.signal["rungs"][-1], files(out, "mp4")[-1]
    done = subprocess.run([FFMPEG, "-nostdin", "-hide_banner", "-i", str(f.path), "-i", str(clips["odd"]),
                           "-lavfi", (f"[1:v]scale={f.width}:{f.height}:flags=bicubic,format=yuv420p[ref];"
                                      "[0:v]format=yuv420p[out];[out][ref]ssim"), "-f", "null", "-"],
                          capture_output=True, text=True, check=True, timeout=60)
    luma = float(re.search(r"SSIM Y:([0-9.]+)", done.stderr).group(1))
    assert rung["ssim"] == pytest.approx(luma, abs=0.002)


def test_progress_rises_to_the_end_while_ffmpeg_runs(made):
    _, _, fractions = made("bigbuckbunny")
    assert len(fractions) >= 2 and fractions == sorted(fractions)
    assert 0 <= fractions[0] < 0.9 and fractions[-1] >= 0.95


# --- limits ----------------------------------------------------------------------------


def test_every_ffmpeg_run_reads_the_one_file_forced_to_its_demuxer(clips, tmp_path):
    from vitrina.media.ladder import probe_command
    src = clips["odd"]
    info = probe_video(src, "mp4", LIMITS)
    final, _ = ladder_command(FFMPEG, src, "mp4", info, tmp_path, crf=23)
    probe = probe_command(FFMPEG, src, "mp4", info, ladder(info.width, info.height)[-1], [(0.0, 0.5), (1.5, 0.5)])
    for cmd in (final, probe):
        assert "-nostdin" in cmd
        for i, arg in enumerate(cmd):
            if arg == "-i":
                assert cmd[i + 1] == f"file:{src}"
                before = cmd[:i]
                assert before[len(before) - before[::-1].index("-protocol_whitelist")] == "file"
                assert before[len(before) - before[::-1].index("-f")] == "mov"
                assert "-enable_drefs" in before


def test_a_run_over_the_memory_limit_fails_with_a_stable_code(clips, tmp_path):
    src = clips["odd"]
    with pytest.raises(TranscodeFailed) as err:
        make_ladder(FFMPEG, src, "mp4", probe_video(src, "mp4", LIMITS), tmp_path, timeout=60,
                    memory_bytes=96 << 20)
    assert err.value.code == "transcode_failed" and str(tmp_path) not in str(err.value.details)
    assert str(src) not in str(err.value.details)


def test_a_run_over_its_time_is_killed(clips, tmp_path):
    import time
    src = clips["bigbuckbunny"]
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        make_ladder(FFMPEG, src, "mp4", probe_video(src, "mp4", LIMITS), tmp_path, timeout=0.3,
                    memory_bytes=MEMORY, per_title=False)
    assert time.monotonic() - started < 5


def test_frame_rate_kept_for_sixty_fps(made):
    _, out, _ = made("fps60")
    with av.open(str(files(out, "mp4")[0].path)) as c:
        assert Fraction(c.streams.video[0].average_rate) == 60
    assert keyframe_times(files(out, "mp4")[0].path) == [0.0]


def test_a_long_log_keeps_its_start_and_its_end(monkeypatch):
    from vitrina.media import ffmpeg_run

    monkeypatch.setattr(ffmpeg_run, "LOG_KEEP", 1000)
    text = ffmpeg_run.run_ffmpeg(["/bin/sh", "-c", 'i=0; while [ $i -lt 5000 ]; do echo "line $i" >&2; i=$((i+1)); done'],
                                 timeout=30, memory_bytes=MEMORY)
    lines = text.splitlines()
    assert lines[0] == "line 0" and lines[-1] == "line 4999" and "[...]" in lines
    assert len(text) <= 2100 and all(re.fullmatch(r"line \d+|\[\.\.\.\]", line) for line in lines)


def test_a_failed_run_names_no_server_path(tmp_path):
    private = tmp_path / "secret-dir"
    with pytest.raises(TranscodeFailed) as err:
        run_ffmpeg(["/bin/sh", "-c", f'echo "cannot open {private}/x.mp4" >&2; exit 3'], timeout=30,
                   memory_bytes=MEMORY, private=(private,))
    assert err.value.details == {"reason": "cannot open <path>/x.mp4", "exit": 3}
    assert err.value.status == 422
