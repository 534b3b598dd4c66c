"""Per-title quality: measure SSIM cheaply and pick the CRF that meets a target.

The measure is x264's own SSIM (``ssim=1``): the luma SSIM of every encoded frame
against the frame the encoder was given (the scaled source), averaged over the run and
logged when the encoder closes. It is computed inside the encode, so the measured
quality of a whole title costs a few per cent of its encode and no second decode.
Each encoder logs under its own address; its options line (also logged) says which
rung it is (the CRF or the VBV cap, unique per encoder in one run).

The CRF is chosen by a probe: a few short excerpts of the title, scaled to the lowest
rung and encoded once at :data:`PROBE_CRF` (``-f null``: nothing written); the CRF that
meets the target follows from that SSIM in decibels, which is close to linear in CRF.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

# Anchored at a line start: text an input's metadata puts in the log is indented by
# ffmpeg's dump and cannot pass for an encoder's line.
_OPTIONS = re.compile(r"^\[libx264 @ (0x[0-9a-f]+)\] 264 - core .* options: (.*)$", re.MULTILINE)
_SSIM = re.compile(r"^\[libx264 @ (0x[0-9a-f]+)\] SSIM Mean Y:([0-9.]+)", re.MULTILINE)

#: the CRF the probe encodes at, and the range the chosen CRF is kept in
PROBE_CRF = 24.0
CRF_RANGE = (18.0, 30.0)
#: how much SSIM (in dB) one CRF step costs: 0.55-0.78 measured on bigbuckbunny, bikes and
#: testsrc2 at 360p between CRF 18 and 30, where it is close to linear
DB_PER_CRF = 0.7


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
    """The highest CRF (fewest bytes) whose SSIM meets ``target``, from probed (CRF, SSIM)
    points: with one point, along the typical slope (:data:`DB_PER_CRF`); with more,
    interpolated in dB between the two around the target (extrapolated from the nearest
    two outside them). Kept in :data:`CRF_RANGE` (below it the rung's VBV cap bounds the
    bytes anyway) and rounded down to a half."""
    goal = ssim_db(target.value)
    crfs = sorted(points)
    dbs = [ssim_db(points[c]) for c in crfs]
    slope = DB_PER_CRF
    c0, d0 = crfs[0], dbs[0]
    for (a, da), (b, db) in zip(zip(crfs, dbs), zip(crfs[1:], dbs[1:])):
        c0, d0, slope = a, da, max(0.05, (da - db) / (b - a))  # quality falls as the CRF rises
        if db < goal:
            break
    crf = c0 + (d0 - goal) / slope
    return math.floor(min(max(crf, CRF_RANGE[0]), CRF_RANGE[1]) * 2) / 2  # x264 takes fractions


def sample_windows(duration: float, fps: float, share: float = 0.03) -> list[tuple[float, float]]:
    """(start, length) of the probe's excerpts: ``share`` of the title (at least 6
    frames, at most 12 s) in up to six excerpts spread over it, so the probe costs a
    small share of the final encode."""
    total = min(12.0, max(6 / fps, share * duration))
    count = max(1, min(6, int(duration // 10) + 1 if duration >= 3 else 1))
    length = max(2 / fps, total / count)
    starts = [duration * (i + 0.5) / count - length / 2 for i in range(count)]
    return [(round(max(0.0, s), 3), round(length, 3)) for s in starts]
