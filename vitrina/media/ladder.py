"""The H.264/AAC ladder: progressive MP4s and HLS from one ffmpeg run, rates per title.

One run decodes the source once: the decoded (auto-rotated) frames are split and scaled
per rung in one filter graph, each rung is encoded once, and the ``tee`` muxer writes
every encoded stream twice, as a progressive MP4 (index first) and as an HLS rung (one
fragmented-MP4 file with byte-ranged 6 s segments). Every rung has closed GOPs of two
seconds and no scene-cut keyframes, so keyframes, and so segment boundaries, fall on the
same frames in every rung. The first audio stream is encoded once (AAC) and muxed into
every rung.

Rates are per title (decision 018): each rung is CRF-coded with a VBV cap at the fixed
ladder's rate for its size, and the CRF comes from a short probe of the title
(:mod:`vitrina.media.quality`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vitrina.media import hls, quality
from vitrina.media.ffmpeg_run import progress_args, run_ffmpeg
from vitrina.media.video import DEMUXERS, VideoInfo

#: the rungs, as the short side of the displayed frame (1920x1080, 1280x720, ...)
LADDER = (1080, 720, 480, 360)
#: seconds between keyframes: every rung's closed GOPs start at the same frames
GOP_SECONDS = 2.0
#: the fixed ladder, kb/s of video at each 16:9 rung; other shapes scale by area
FIXED_KBPS = {1080: 5000, 720: 2800, 480: 1400, 360: 800}
AUDIO = ["-c:a", "aac", "-b:a", "128k", "-ac", "2"]
# global headers: the SPS/PPS once in the MP4's avcC (what CODECS is read from), and the
# encoder's options line in the log (what tells its SSIM line apart from another's)
X264 = ["-c:v", "libx264", "-preset", "veryfast", "-profile:v", "high", "-flags", "+global_header"]


@dataclass(frozen=True)
class Rung:
    width: int  # displayed, even
    height: int
    fixed_kbps: int  # the fixed ladder's rate at this size: the per-title VBV cap

    @property
    def name(self) -> str:
        return f"h{self.height}w{self.width}"


@dataclass(frozen=True)
class Rendition:
    """One file the ladder made: ``name`` is its path under the asset's derivatives."""

    path: Path
    name: str
    width: int  # 0 for audio only
    height: int
    mime: str
    format: str


@dataclass(frozen=True)
class Ladder:
    files: list[Rendition]
    signal: dict[str, Any]  # the ``ladder`` signal (decision 018 has its schema)
    command: list[str]  # the final ffmpeg run, as run


def _even(x: float, cap: int) -> int:
    """``x`` to the nearest even number (halves up), never above ``cap`` (even or odd)."""
    return max(2, min(int(x / 2 + 0.5) * 2, cap // 2 * 2))


def fixed_kbps(width: int, height: int) -> int:
    """The fixed ladder's rate for a ``width`` x ``height`` rung: the table's rate for its
    short side (the smallest entry for anything smaller), scaled by area to the shape."""
    short = min(width, height)
    side = min((s for s in FIXED_KBPS if s >= short), default=max(FIXED_KBPS))
    area = round(side * 16 / 9) * side
    return max(100, round(FIXED_KBPS[side] * width * height / area))


def ladder(width: int, height: int, rungs: tuple[int, ...] = LADDER) -> list[Rung]:
    """The rungs of a ``width`` x ``height`` (displayed) video, never above the source:
    each rung's short side from ``rungs`` up to the source's, or one rung at the source's
    own (even) size when it is smaller than every rung."""
    short = min(width, height)
    sizes = [(_even(width * side / short, width), _even(height * side / short, height))
             for side in rungs if side <= short] or [(_even(width, width), _even(height, height))]
    return [Rung(w, h, fixed_kbps(w, h)) for w, h in sizes]


def input_args(ffmpeg: str, source: Path, container: str, *seek: str) -> list[str]:
    """The start of every ffmpeg run: quiet, no stdin, one local input forced to its
    demuxer through the ``file`` protocol with data references off (decision 016);
    ``seek`` are input options (``-ss``, ``-t``) for that input."""
    demuxer = DEMUXERS[container]
    cmd = [ffmpeg, "-nostdin", "-hide_banner", "-nostats", "-v", "info", "-y"]
    return cmd + _one_input(source, demuxer, *seek)


def _one_input(source: Path, demuxer: str, *seek: str) -> list[str]:
    args = ["-protocol_whitelist", "file", "-f", demuxer, *seek]
    if demuxer == "mov":
        args += ["-enable_drefs", "0", "-use_absolute_path", "0"]
    return args + ["-i", f"file:{source}"]


def _gop_frames(info: VideoInfo) -> int:
    return max(1, round((info.fps or 25.0) * GOP_SECONDS))


def _gop(info: VideoInfo) -> list[str]:
    gop = str(_gop_frames(info))
    return ["-g", gop, "-keyint_min", gop, "-sc_threshold", "0"]


def _x264_params(*extra: str) -> list[str]:
    # ssim=1: x264 measures each rung's quality as it encodes (vitrina.media.quality)
    return ["-x264-params", ":".join(["open-gop=0", "scenecut=0", "ssim=1", *extra])]


def _scale(r: Rung) -> str:
    return f"scale={r.width}:{r.height}:flags=bicubic,setsar=1,format=yuv420p"


def _check_dir(out_dir: Path) -> None:
    # the tee muxer's own syntax uses these; our temporary directories never contain them
    if any(c in str(out_dir) for c in "|[]:'\\,"):
        raise ValueError(f"output directory {out_dir} has a character the tee muxer reserves")


def probe_command(ffmpeg: str, source: Path, container: str, info: VideoInfo, rung: Rung,
                  windows: list[tuple[float, float]], crfs: tuple[float, ...] = (quality.PROBE_CRF,),
                  ) -> list[str]:
    """One ffmpeg run that encodes the excerpts ``windows`` of the title, scaled to
    ``rung``, at each of ``crfs``, writing nothing: x264 logs each encode's SSIM. The
    excerpts start at the keyframe before each window (no decoding to reach it)."""
    demuxer = DEMUXERS[container]
    cmd = input_args(ffmpeg, source, container, "-noaccurate_seek", "-ss", f"{windows[0][0]:.3f}",
                     "-t", f"{windows[0][1]:.3f}")
    for start, length in windows[1:]:
        cmd += _one_input(source, demuxer, "-noaccurate_seek", "-ss", f"{start:.3f}", "-t", f"{length:.3f}")
    parts = "".join(f"[{i}:v:0]" for i in range(len(windows)))
    joined = f"{parts}concat=n={len(windows)}:v=1:a=0," if len(windows) > 1 else "[0:v:0]"
    labels = "".join(f"[p{i}]" for i in range(len(crfs)))
    cmd += ["-filter_complex", f"{joined}{_scale(rung)},split={len(crfs)}{labels}"]
    for i, crf in enumerate(crfs):
        cmd += ["-map", f"[p{i}]", *X264, "-crf", f"{crf:g}", *_gop(info), *_x264_params(), "-f", "null", "-"]
    return cmd


def choose_crf(ffmpeg: str, source: Path, container: str, info: VideoInfo, rungs: list[Rung], *,
               timeout: float, memory_bytes: int) -> float:
    """The CRF every rung is encoded at: the probe's pick at the lowest rung."""
    windows = quality.sample_windows(info.duration, info.fps or 25.0)
    cmd = probe_command(ffmpeg, source, container, info, rungs[-1], windows)
    log = run_ffmpeg(cmd, timeout=timeout, memory_bytes=memory_bytes, private=(source,))
    measured = {float(k): v for k, v in quality.encoder_ssim(log, "crf").items()}
    if not measured:  # x264 reported no SSIM (no frame in the excerpts)
        return quality.PROBE_CRF
    return quality.choose_crf(measured)


def ladder_command(ffmpeg: str, source: Path, container: str, info: VideoInfo, out_dir: Path,
                   crf: float | None) -> tuple[list[str], list[tuple[Rung, Path, Path]]]:
    """The one final ffmpeg run, and per rung (rung, MP4, HLS playlist). ``crf`` None
    encodes the fixed ladder instead (ABR at each rung's fixed rate, same cap), for
    comparison."""
    _check_dir(out_dir)
    (out_dir / "hls").mkdir(exist_ok=True)
    cmd = input_args(ffmpeg, source, container) + ["-map_metadata", "-1", "-map_chapters", "-1"]
    if not info.has_video:
        mp4, playlist = out_dir / "audio.m4a", out_dir / "hls" / "audio.m3u8"
        cmd += ["-map", "0:a:0", "-vn", *AUDIO, "-flags", "+global_header", *progress_args(), "-f", "tee",
                f"[f=mp4:movflags=+faststart]{mp4}|[{hls.muxer_options(playlist)}]{playlist}"]
        return cmd, [(Rung(0, 0, 0), mp4, playlist)]
    rungs = ladder(info.width, info.height)
    labels = "".join(f"[s{i}]" for i in range(len(rungs)))
    graph = [f"[0:v:0]split={len(rungs)}{labels}"] + [f"[s{i}]{_scale(r)}[o{i}]" for i, r in enumerate(rungs)]
    cmd += ["-filter_complex", ";".join(graph)] + [a for i in range(len(rungs)) for a in ("-map", f"[o{i}]")]
    if info.has_audio:
        cmd += ["-map", "0:a:0", *AUDIO]
    cmd += [*X264, *_gop(info), *_x264_params()]
    for i, r in enumerate(rungs):
        rate = [f"-crf:v:{i}", f"{crf:g}"] if crf is not None else [f"-b:v:{i}", f"{r.fixed_kbps}k"]
        cmd += [*rate, f"-maxrate:v:{i}", f"{r.fixed_kbps}k", f"-bufsize:v:{i}", f"{2 * r.fixed_kbps}k"]
    slaves, out = [], []
    hls_time = hls.segment_seconds(_gop_frames(info), info.fps or 25.0)
    for i, r in enumerate(rungs):
        mp4, playlist = out_dir / f"{r.name}.mp4", out_dir / "hls" / f"{r.name}.m3u8"
        select = f"select=\\'{i},{len(rungs)}\\'" if info.has_audio else f"select={i}"
        slaves += [f"[f=mp4:movflags=+faststart:{select}]{mp4}",
                   f"[{hls.muxer_options(playlist, hls_time)}:{select}]{playlist}"]
        out.append((r, mp4, playlist))
    cmd += [*progress_args(), "-f", "tee", "|".join(slaves)]
    return cmd, out


def make_ladder(ffmpeg: str, source: Path, container: str, info: VideoInfo, out_dir: Path, *,
                timeout: float, memory_bytes: int, progress: Callable[[float], None] | None = None,
                per_title: bool = True) -> Ladder:
    """Probe (per title), encode every rung once into MP4 and HLS, write the master
    playlist, and describe the result. Both ffmpeg runs share ``timeout`` (killed past it:
    :class:`TimeoutError`) and each is held to ``memory_bytes`` of address space."""
    deadline = time.monotonic() + timeout
    rungs = ladder(info.width, info.height) if info.has_video else []
    crf = None
    if rungs and per_title:
        crf = choose_crf(ffmpeg, source, container, info, rungs, timeout=timeout, memory_bytes=memory_bytes)
    cmd, outs = ladder_command(ffmpeg, source, container, info, out_dir, crf)
    log = run_ffmpeg(cmd, timeout=max(0.01, deadline - time.monotonic()), memory_bytes=memory_bytes,
                     duration=info.duration, progress=progress, private=(source, out_dir))
    measured = quality.encoder_ssim(log, "vbv_maxrate")
    variants, files, described = [], [], []
    for r, mp4, playlist in outs:
        audio_only = not r.width
        variants.append(hls.variant_of(playlist, mp4, r.width, r.height, info.fps if not audio_only else None))
        kind = ("audio/mp4", "m4a") if audio_only else ("video/mp4", "mp4")
        files.append(Rendition(mp4, mp4.name, r.width, r.height, *kind))
        files += [Rendition(playlist, f"hls/{playlist.name}", r.width, r.height, hls.PLAYLIST_MIME, "m3u8"),
                  Rendition(playlist.with_suffix(".m4s"), f"hls/{playlist.stem}.m4s", r.width, r.height,
                            "audio/mp4" if audio_only else "video/mp4", "m4s")]
        if not audio_only:
            described.append(_rung_signal(r, crf, mp4.stat().st_size, info.duration,
                                          measured.get(str(r.fixed_kbps))))
    master = out_dir / "hls" / "master.m3u8"
    master.write_text(hls.master_playlist(variants))
    top = outs[0][0]
    # format "hls": the presentation's entry point (one derivative per width and format)
    files.append(Rendition(master, "hls/master.m3u8", top.width, top.height, hls.PLAYLIST_MIME, "hls"))
    signal = {"target": {"metric": quality.TARGET.metric, "value": quality.TARGET.value},
              "hls": "hls/master.m3u8", "rungs": described}
    return Ladder(files, signal, cmd)


def _rung_signal(r: Rung, crf: float | None, size: int, duration: float, ssim: float | None) -> dict[str, Any]:
    return {"width": r.width, "height": r.height, "crf": crf, "maxrate_kbps": r.fixed_kbps, "bytes": size,
            "bitrate_kbps": round(size * 8 / duration / 1000, 1) if duration > 0 else None,
            "ssim": round(ssim, 5) if ssim is not None else None, "fixed_kbps": r.fixed_kbps,
            "fixed_bytes": round(r.fixed_kbps * 1000 / 8 * duration)}
