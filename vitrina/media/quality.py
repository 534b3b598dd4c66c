"""Per-title quality: measure SSIM cheaply and pick the CRF that meets a target.

The measure is x264's own SSIM (``ssim=1``): the luma SSIM of every encoded frame
against the frame the encoder was given (the scaled source), averaged over the run and
logged when the encoder closes. It is computed inside the encode, so the measured
quality of a whole title costs a few per cent of its encode and no second decode.
Each encoder logs under its own address; its options line (also logged) says which
rung it is (the CRF or the VBV cap, unique per encoder in one run).

The CRF is chosen by a probe: a few short excerpts of the title, scaled to the lowest
rung, encoded at two CRFs in one ffmpeg run (one decode of the excerpts); the
CRF is interpolated on SSIM in decibels, where it is close to linear in CRF.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

# Anchored at a line start: text an input's metadata puts in the log is indented by
# ffmpeg's dump and cannot pass for an encoder's line.
_OPTIONS = re.compile(r"^\[libx264 @ (0x[0-9a-f]+)\] 264 - core .* options: (.*)$", re.MULTILINE)
_SSIM = re.compile(r"^\[libx264 @ (0x[0-9a-f]+)\] SSIM Mean Y:([0-9.]+)", re.MULTILINE)

#: the CRFs the probe tries; the chosen CRF is interpolated between them, never outside
PROBE_CRFS = (18.0, 30.0)


@dataclass(frozen=True)
class QualityTarget:
    metric: str  # "ssim": x264's luma SSIM, 0 to 1
    value: float


#: what every rung aims at: luma SSIM 0.98 (17 dB), where H.264 artefacts become hard to
#: see at normal viewing distance on the rung's own screen size
TARGET = QualityTarget("ssim", 0.98)


def ssim_db(ssim: float) -> float:
    return -10 * math.log10(max(1e-10, 1 - ssim))


def encoder_ssim(log: str, option: str) -> dict[str, float]:
    """The SSIM each x264 encoder of one ffmpeg run logged, keyed by the value of one of
    its options (``crf``, ``vbv_maxrate``, ``bitrate``), which must tell them apart."""
    options = {}
    for addr, opts in _OPTIONS.findall(log):
        fields = dict(kv.split("=", 1) for kv in opts.split() if "=" in kv)
        if option in fields:
            options[addr] = fields[option]
    out: dict[str, float] = {}
    for addr, value in _SSIM.findall(log):
        if addr in options:
            out[options[addr]] = float(value)
    return out


def choose_crf(points: dict[float, float], target: QualityTarget = TARGET) -> float:
    """The highest CRF (fewest bytes) whose SSIM, interpolated in dB between the probed
    CRFs, still meets ``target``: the highest probed CRF when all meet it, the lowest
    when none does (the rung's VBV cap then bounds its bytes)."""
    crfs = sorted(points)
    goal = ssim_db(target.value)
    dbs = [ssim_db(points[c]) for c in crfs]
    if dbs[-1] >= goal:
        return crfs[-1]
    best = crfs[0]
    for (c0, d0), (c1, d1) in zip(zip(crfs, dbs), zip(crfs[1:], dbs[1:])):
        if d0 >= goal > d1:  # quality falls as the CRF rises: the crossing is between
            best = c0 + (c1 - c0) * (d0 - goal) / (d0 - d1)
    return math.floor(best * 2) / 2  # x264 takes fractional CRFs; halves are enough


def sample_windows(duration: float, fps: float) -> list[tuple[float, float]]:
    """(start, length) of the probe's excerpts: about 3 % of the title (at least 8
    frames, at most 12 s) in up to six excerpts spread over it, so the probe costs a
    small, fixed share of the final encode."""
    total = min(12.0, max(8 / fps, 0.03 * duration))
    count = max(1, min(6, int(duration // 10) + 1 if duration >= 3 else 1))
    length = max(2 / fps, total / count)
    starts = [duration * (i + 0.5) / count - length / 2 for i in range(count)]
    return [(round(max(0.0, s), 3), round(length, 3)) for s in starts]
