"""Fast conversion from matrix/TRC RGB profiles (Adobe RGB, Display P3, ProPhoto...)
to sRGB with three native libvips ops: per-channel curve (``maplut``), 3x3 matrix
(``recomb``) and the sRGB curve (``maplut``).

Why: libvips' ``icc_transform`` builds a new LittleCMS transform on every call, a
fixed 5-15 ms that would dominate a small render. For matrix/TRC profiles the
conversion *is* curves plus a matrix (what LittleCMS itself does for them), so the
tables are built once per profile and kept. Profiles of any other kind (LUT-based,
CMYK, grey) return None and take the LittleCMS path.
"""

from __future__ import annotations

import struct
from functools import lru_cache

import numpy as np
import pyvips

# sRGB primaries adapted to the D50 profile connection space (columns: r, g, b XYZ)
_SRGB_D50 = np.array(
    [
        [0.4360747, 0.3850649, 0.1430804],
        [0.2225045, 0.7168786, 0.0606169],
        [0.0139322, 0.0971045, 0.7141733],
    ]
)
_OUT_STEPS = 65536  # linear light is quantised to 16 bits before the sRGB curve


def convert(image: pyvips.Image, profile: bytes) -> pyvips.Image | None:
    """``image`` (RGB, 8 or 16 bit, optional alpha) in sRGB, or None if the profile is
    not a plain matrix/TRC RGB profile."""
    depth = 65536 if image.format == "ushort" else 256 if image.format == "uchar" else 0
    tables = _tables(bytes(profile), depth) if depth else None
    if tables is None:
        return None
    curves, matrix, encode = tables
    colour = image.extract_band(0, n=3) if image.bands > 3 else image
    # the matrix also scales linear light to 0..65535, so one cast makes the LUT index
    out = colour.maplut(curves).recomb(matrix).cast("ushort").maplut(encode)
    if image.hasalpha() and image.bands > 3:
        alpha = image.extract_band(3)
        out = out.bandjoin(alpha if alpha.format == "uchar" else (alpha / 257).cast("uchar"))
    return out.copy(interpretation="srgb")


@lru_cache(maxsize=32)
def _tables(profile: bytes, depth: int) -> tuple[pyvips.Image, pyvips.Image, pyvips.Image] | None:
    tags = _tag_table(profile)
    if profile[16:20] != b"RGB " or profile[20:24] != b"XYZ " or "A2B0" in tags:
        return None
    try:
        colorants = np.array([_xyz(profile, tags[k]) for k in ("rXYZ", "gXYZ", "bXYZ")]).T
        x = np.linspace(0.0, 1.0, depth)
        curves = np.stack([_curve(profile, tags[k], x) for k in ("rTRC", "gTRC", "bTRC")], axis=-1)
    except (KeyError, ValueError, struct.error, ZeroDivisionError):
        return None
    matrix = np.linalg.inv(_SRGB_D50) @ colorants * (_OUT_STEPS - 1)
    lin = np.linspace(0.0, 1.0, _OUT_STEPS)
    srgb = np.where(lin <= 0.0031308, 12.92 * lin, 1.055 * np.power(lin, 1 / 2.4) - 0.055)
    encode = np.clip(np.round(srgb * 255), 0, 255).astype(np.uint8)
    return (
        pyvips.Image.new_from_array(curves[None, :, :].astype(np.float32)),
        pyvips.Image.new_from_array(matrix.tolist()),
        pyvips.Image.new_from_array(encode[None, :]),
    )


def _tag_table(profile: bytes) -> dict[str, tuple[int, int]]:
    if len(profile) < 132:
        return {}
    count = min(int.from_bytes(profile[128:132], "big"), 200)
    tags = {}
    for i in range(count):
        sig, off, size = struct.unpack_from(">4sII", profile, 132 + 12 * i)
        if off + size <= len(profile):
            tags[sig.decode("latin-1")] = (off, size)
    return tags


def _xyz(profile: bytes, tag: tuple[int, int]) -> tuple[float, float, float]:
    off, _ = tag
    if profile[off : off + 4] != b"XYZ ":
        raise ValueError("not an XYZ tag")
    x, y, z = struct.unpack_from(">iii", profile, off + 8)
    return x / 65536, y / 65536, z / 65536


def _curve(profile: bytes, tag: tuple[int, int], x: np.ndarray) -> np.ndarray:
    """Tone curve of a 'curv' or 'para' tag evaluated at ``x`` (0..1)."""
    off, _ = tag
    kind = profile[off : off + 4]
    if kind == b"curv":
        (n,) = struct.unpack_from(">I", profile, off + 8)
        if n == 0:
            return x
        if n == 1:
            return np.power(x, struct.unpack_from(">H", profile, off + 12)[0] / 256)
        table = np.array(struct.unpack_from(f">{n}H", profile, off + 12)) / 65535
        return np.interp(x, np.linspace(0.0, 1.0, n), table)
    if kind == b"para":
        (fn,) = struct.unpack_from(">H", profile, off + 8)
        count = {0: 1, 1: 3, 2: 4, 3: 5, 4: 7}[fn]
        p = [v / 65536 for v in struct.unpack_from(f">{count}i", profile, off + 12)]
        g, a, b, c, d, e, f = (p + [0.0] * 7)[:7]
        if fn == 0:
            return np.power(x, g)
        if fn in (1, 2):
            d, e, f = -b / a, (c if fn == 2 else 0.0), (c if fn == 2 else 0.0)
            c = 0.0
        on = np.power(np.clip(a * x + b, 0, None), g) + e
        return np.clip(np.where(x >= d, on, c * x + f), 0.0, 1.0)
    raise ValueError("unknown curve type")
