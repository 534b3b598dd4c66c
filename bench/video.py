"""The renditions step (per-title ladder, MP4 and HLS) against the plain ffmpeg command
that makes the same files, and the per-title ladder against the fixed ladder.

    .venv/bin/python bench/video.py [--rounds 5] [--quick]

The pipeline side is ``RenditionsStep.run`` on an ingested asset, called directly with a
``StepContext`` over a real runtime (SQLite catalog, local blob store, temporary data
directory): the per-title probe, the final ffmpeg run with its progress read, the master
playlist, and every file written to the blob store. The ffmpeg side is the final command
that step builds (same CRF, same outputs), run as a plain subprocess. The sides alternate
clip by clip, the order swapped every round, after one untimed run of each (not
with ``--quick``). Clips:
``data/video/bigbuckbunny.mp4`` and ``data/video/bikes.mp4``; ``--quick`` runs one round
of bikes only.

Then each clip's per-title ladder is set beside the fixed ladder (ABR at the fixed rates),
both encoded here, rung by rung: bytes of the MP4 and SSIM (x264's luma SSIM over the
whole title). The last two lines read ``video pipeline/ffmpeg time: N.NN`` (1.00 = no
overhead) and ``video realtime factor: N.N`` (seconds of video per second of the
pipeline's wall time).
"""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from vitrina.config import Settings

CLIPS = ("bigbuckbunny.mp4", "bikes.mp4")


class Pipeline:
    """A runtime with the clips ingested (probed), and the renditions step to run on them."""

    def __init__(self, workdir: Path, clips: list[Path]) -> None:
        from vitrina.kinds.video.steps import RenditionsStep
        from vitrina.runtime import Runtime
        from vitrina.storage.catalog.db import upgrade

        self.rt = Runtime(Settings(dev=True, data_dir=workdir / "data"))
        upgrade(self.rt.engine)
        self.step = RenditionsStep()
        self.ids = {p: self.rt.ingestor.ingest_file(p).asset_id for p in clips}

    def run(self, clip: Path):
        from vitrina.pipeline.steps import StepContext

        asset = self.rt.asset_repository.snapshot(None, self.ids[clip])
        started = time.perf_counter()
        result = self.step.run(StepContext(asset, self.rt.store, self.rt.settings, attempt=1,
                                           progress=lambda fraction: None))
        return time.perf_counter() - started, asset, result

    def close(self) -> None:
        self.rt.close()


def final_command(service: Pipeline, asset, signal: dict, workdir: Path) -> list[str]:
    """The final ffmpeg run the step made, with the CRF its probe chose, reading the same
    stored original, into a directory of its own."""
    import imageio_ffmpeg

    from vitrina.media.ladder import ladder_command
    from vitrina.media.video import VideoInfo

    info = VideoInfo.from_dict(asset.meta)
    out = Path(tempfile.mkdtemp(dir=workdir, prefix="ffmpeg-"))
    crf = signal["rungs"][0]["crf"] if signal["rungs"] else None
    source = service.rt.store.local_path(asset.blob_key)
    return ladder_command(imageio_ffmpeg.get_ffmpeg_exe(), source, info.container, info, out, crf)[0]


def cpu_seconds() -> float:
    """CPU time of this process and of its children that have ended (the ffmpeg runs)."""
    me, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + children.ru_utime + children.ru_stime


CPU = {"pipeline": 0.0, "ffmpeg": 0.0}


def plain_ffmpeg(cmd: list[str]) -> float:
    started, cpu = time.perf_counter(), cpu_seconds()
    subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   check=True, timeout=600)
    CPU["ffmpeg"] += cpu_seconds() - cpu
    return time.perf_counter() - started


def probe_cost(clip: Path, ffmpeg_seconds: float) -> str:
    """The per-title probe alone (median of three runs): what the pipeline adds to the
    final encode besides Python's own work."""
    import imageio_ffmpeg

    from vitrina.media.ladder import choose_crf, ladder
    from vitrina.media.video import VideoLimits, probe_video

    info = probe_video(clip, "mp4", VideoLimits(3600, 2**31, 3840 * 2160, 120, 8))
    walls, cpus = [], []
    for _ in range(3):
        started, cpu = time.perf_counter(), cpu_seconds()
        choose_crf(imageio_ffmpeg.get_ffmpeg_exe(), clip, "mp4", info, ladder(info.width, info.height),
                   timeout=600, memory_bytes=4 << 30)
        walls.append(time.perf_counter() - started)
        cpus.append(cpu_seconds() - cpu)
    wall, cpu = statistics.median(walls), statistics.median(cpus)
    return (f"  {clip.name:<17} probe {wall:.3f} s wall, {cpu:.3f} s CPU: "
            f"{100 * wall / ffmpeg_seconds:.1f} % of the final encode's median wall time")


def compare_with_fixed(clip: Path, per_title: dict, workdir: Path) -> list[str]:
    """Rows of per-title against the fixed ladder for one clip, both encoded."""
    import imageio_ffmpeg

    from vitrina.media.ladder import make_ladder
    from vitrina.media.video import VideoLimits, probe_video

    limits = VideoLimits(3600, 2**31, 3840 * 2160, 120, 8)
    info = probe_video(clip, "mp4", limits)
    out = Path(tempfile.mkdtemp(dir=workdir, prefix="fixed-"))
    fixed = make_ladder(imageio_ffmpeg.get_ffmpeg_exe(), clip, "mp4", info, out, timeout=600,
                        memory_bytes=4 << 30, per_title=False).signal
    rows = []
    for p, f in zip(per_title["rungs"], fixed["rungs"]):
        rows.append(f"  {clip.name:<17} {p['width']:>4}x{p['height']:<4} crf {p['crf']:>4}  "
                    f"per-title {p['bytes']:>9} B ssim {p['ssim']:.4f}   "
                    f"fixed {p['fixed_kbps']:>4}k {f['bytes']:>9} B ssim {f['ssim']:.4f}   "
                    f"bytes {p['bytes'] / f['bytes']:.2f}x  (nominal fixed {p['fixed_bytes']} B)")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5, help="rounds; medians are reported")
    parser.add_argument("--quick", action="store_true", help="one round of one clip (a smoke run)")
    args = parser.parse_args()
    rounds = 1 if args.quick else args.rounds
    names = CLIPS[1:] if args.quick else CLIPS
    clips = [ROOT / "data" / "video" / n for n in names]

    with tempfile.TemporaryDirectory(prefix="vitrina-bench-video-") as tmp:
        workdir = Path(tmp)
        service = Pipeline(workdir, clips)
        seconds_of_video: dict[Path, float] = {}
        signals: dict[Path, dict] = {}
        commands: dict[Path, list[str]] = {}

        def pipeline(clip: Path) -> float:
            elapsed, asset, result = service.run(clip)
            if clip not in commands:  # the step's own choice of CRF makes the ffmpeg side's command
                seconds_of_video[clip] = asset.meta["duration"]
                signals[clip] = next(s.value for s in result.signals if s.name == "ladder")
                commands[clip] = final_command(service, asset, signals[clip], workdir)
            return elapsed

        if not args.quick:  # untimed: the OS cache, imports, the catalog's first statements
            for clip in clips:
                pipeline(clip)
                plain_ffmpeg(commands[clip])
        print(f"{len(clips)} clips, {rounds} rounds", flush=True)
        pipeline_s: list[float] = []  # per round, all clips
        ffmpeg_s: list[float] = []
        pairs: list[float] = []  # pipeline / ffmpeg of one clip, the two runs back to back
        per_clip: dict[Path, list[float]] = {}  # ffmpeg seconds
        for r in range(rounds):
            p_total = f_total = 0.0
            for i, clip in enumerate(clips):
                pipeline_first = (i + r) % 2 == 0 or clip not in commands
                for side in ("pipeline", "ffmpeg") if pipeline_first else ("ffmpeg", "pipeline"):
                    if side == "pipeline":
                        cpu = cpu_seconds()
                        p_one = pipeline(clip)
                        CPU["pipeline"] += cpu_seconds() - cpu
                    else:
                        f_one = plain_ffmpeg(commands[clip])
                pairs.append(p_one / f_one)
                per_clip.setdefault(clip, []).append(f_one)
                p_total, f_total = p_total + p_one, f_total + f_one
            pipeline_s.append(p_total)
            ffmpeg_s.append(f_total)
            print(f"round {r + 1}: pipeline {p_total:.2f} s, ffmpeg {f_total:.2f} s, "
                  f"ratio {p_total / f_total:.3f}", flush=True)
        service.close()
        print("the per-title probe on its own:")
        for clip in clips:
            print(probe_cost(clip, statistics.median(per_clip[clip])), flush=True)
        print("per-title against the fixed ladder (MP4 bytes incl. 128k AAC when the clip has audio; "
              "x264 luma SSIM over the whole title):")
        for clip in clips:
            print("\n".join(compare_with_fixed(clip, signals[clip], workdir)), flush=True)
    ratio = statistics.median(pairs)
    realtime = sum(seconds_of_video.values()) / statistics.median(pipeline_s)
    print(f"pipeline {statistics.median(pipeline_s):.2f} s, ffmpeg {statistics.median(ffmpeg_s):.2f} s (medians); "
          f"CPU time, all rounds: pipeline {CPU['pipeline']:.1f} s, ffmpeg {CPU['ffmpeg']:.1f} s, "
          f"ratio {CPU['pipeline'] / CPU['ffmpeg']:.3f}")
    print(f"video pipeline/ffmpeg time: {ratio:.2f}")
    print(f"video realtime factor: {realtime:.1f}")


if __name__ == "__main__":
    main()
