"""Per-title rates (decision 018): the probe's CRF choice, the SSIM read from x264's log,
and the per-title ladder against the fixed ladder on real encodes."""

from __future__ import annotations

from pathlib import Path

import imageio_ffmpeg
import pytest

from tests.data.hostile.make_hostile_video import ffmpeg
from vitrina.media import quality
from vitrina.media.ladder import fixed_kbps, make_ladder
from vitrina.media.quality import QualityTarget, choose_crf, encoder_ssim, sample_windows
from vitrina.media.video import VideoLimits, probe_video

LIMITS = VideoLimits(max_duration_seconds=3600, max_bytes=2**31, max_pixels=3840 * 2160, max_fps=120,
                     max_streams=8)
FFMPEG = imageio_ffmpeg.get_ffmpeg_exe()


@pytest.mark.parametrize(("points", "target", "crf"), [
    ({18.0: 0.99, 30.0: 0.985}, 0.98, 30.0),  # easy: both meet it, the top of the range
    ({18.0: 0.97, 30.0: 0.90}, 0.98, 18.0),  # hard: neither does, the bottom (the VBV cap bounds bytes)
    ({18.0: 0.99, 30.0: 0.95}, 0.98, 23.0),  # 20 dB to 13.01 dB: 16.99 dB at 23.17, down to a half
    ({18.0: 0.99, 24.0: 0.98, 30.0: 0.9}, 0.98, 24.0),  # exactly on a probed point
    ({24.0: 0.98}, 0.98, 24.0),  # one point (what the probe measures): along the typical slope
    ({24.0: 0.99}, 0.98, 28.0),  # 20 dB: 3.01 dB above 16.99 dB at 0.7 dB a step is 28.3
    ({24.0: 0.95}, 0.98, 18.0),  # far below: never under the range
])
def test_the_highest_crf_that_meets_the_target(points, target, crf):
    assert choose_crf(points, QualityTarget("ssim", target)) == crf


def test_ssim_is_read_per_encoder_and_forged_lines_are_not():
    log = (
        "[libx264 @ 0x1a] 264 - core 164 - H.264/MPEG-4 AVC codec - options: cabac=1 crf=18.0 vbv_maxrate=800\n"
        "[libx264 @ 0x2b] 264 - core 164 - H.264/MPEG-4 AVC codec - options: cabac=1 crf=30.0 vbv_maxrate=600\n"
        # an input's metadata, which ffmpeg's dump indents
        "    title           : [libx264 @ 0x1a] SSIM Mean Y:0.1000000 (0.458db)\n"
        "[libx264 @ 0x2b] SSIM Mean Y:0.9212661 (11.038db)\n"
        "[libx264 @ 0x1a] SSIM Mean Y:0.9889303 (19.559db)\n"
        "[libx264 @ 0x3c] SSIM Mean Y:0.5000000 (3.010db)\n"  # an encoder whose options were not logged
    )
    assert encoder_ssim(log, "crf") == {"18.0": 0.9889303, "30.0": 0.9212661}
    assert encoder_ssim(log, "vbv_maxrate") == {"800": 0.9889303, "600": 0.9212661}


@pytest.mark.parametrize(("duration", "fps", "count"), [(5.3, 25, 1), (60, 25, 6), (3600, 30, 6), (0.5, 24, 1)])
def test_the_probe_reads_a_few_per_cent_of_the_title(duration, fps, count):
    windows = sample_windows(duration, fps)
    total = sum(length for _, length in windows)
    assert len(windows) == count and total >= min(6 / fps, duration) - 1e-3
    assert total <= max(6 / fps, 0.03 * duration) + 1e-3 and total <= 12.001
    assert all(0 <= start and start + length <= duration + 6 / fps for start, length in windows)


@pytest.mark.parametrize(("size", "kbps"), [((1920, 1080), 5000), ((1280, 720), 2800), ((854, 480), 1402),
                                            ((640, 360), 800), ((640, 272), 604), ((360, 640), 800),
                                            ((100, 56), 100)])
def test_fixed_ladder_rates_scale_by_area(size, kbps):
    assert fixed_kbps(*size) == kbps


@pytest.fixture(scope="module")
def static_clip(tmp_path_factory) -> Path:
    """A still picture (flat colour, a box, a thin grid) for 4 s: what a slide or a
    title card looks like, and what a fixed ladder spends the most on for nothing."""
    path = tmp_path_factory.mktemp("static") / "static.mp4"
    ffmpeg("-f", "lavfi", "-i", "color=c=0x336699:size=640x360:rate=25:duration=4,"
           "drawbox=x=100:y=100:w=40:h=20:c=white:t=fill,drawgrid=w=64:h=36:t=1:c=yellow",
           "-c:v", "libx264", "-preset", "ultrafast", "-crf", "10", "-pix_fmt", "yuv420p", str(path))
    return path


@pytest.fixture(scope="module")
def moving_clip(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("moving") / "moving.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=640x360:rate=25:duration=4", "-c:v", "libx264",
           "-preset", "ultrafast", "-crf", "10", "-pix_fmt", "yuv420p", str(path))
    return path


def _ladders(src: Path, tmp: Path) -> tuple[dict, dict]:
    """The one rung of ``src`` as the per-title ladder and as the fixed ladder make it."""
    info = probe_video(src, "mp4", LIMITS)
    rungs = []
    for per_title in (True, False):
        out = tmp / ("per_title" if per_title else "fixed")
        out.mkdir()
        made = make_ladder(FFMPEG, src, "mp4", info, out, timeout=60, memory_bytes=4 << 30, per_title=per_title)
        rungs.append(made.signal["rungs"][0])
    return rungs[0], rungs[1]


def test_a_still_picture_costs_far_fewer_bytes_than_the_fixed_ladder_at_the_target(static_clip, tmp_path):
    per_title, fixed = _ladders(static_clip, tmp_path)
    assert per_title["crf"] == quality.CRF_RANGE[1]  # the probe saw an easy title
    assert per_title["bytes"] < fixed["bytes"] and per_title["bytes"] < per_title["fixed_bytes"] / 10
    assert per_title["ssim"] >= quality.TARGET.value
    # the fixed ladder's extra bytes buy nothing anyone can see: both are far above the
    # target, within 0.01 of a perfect 1
    assert fixed["ssim"] - per_title["ssim"] < 0.01


def test_a_moving_picture_meets_the_target_under_the_fixed_rate(moving_clip, tmp_path):
    per_title, fixed = _ladders(moving_clip, tmp_path)
    assert per_title["ssim"] >= quality.TARGET.value - 0.005  # the probe's pick, from 6 frames
    assert per_title["bytes"] < per_title["fixed_bytes"] and per_title["bytes"] < fixed["bytes"]
