"""The video benchmark runs (one round, one clip) and ends with the two lines it promises."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_bench_video_quick_ends_with_its_two_figures():
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "video.py"), "--quick"], cwd=ROOT,
                          capture_output=True, text=True, timeout=300, check=True)
    last = done.stdout.strip().splitlines()[-2:]
    assert re.fullmatch(r"video pipeline/ffmpeg time: \d+\.\d\d", last[0]), done.stdout
    assert re.fullmatch(r"video realtime factor: \d+\.\d", last[1]), done.stdout
    assert "bikes.mp4" in done.stdout and "per-title" in done.stdout
