"""sRGB <-> CIELAB (D65) in numpy, for perceptual colour distances."""

from __future__ import annotations

import numpy

_RGB_TO_XYZ = numpy.array(
    [
        [0.4124564, 0.3575761, 0.1804375],
        [0.2126729, 0.7151522, 0.0721750],
        [0.0193339, 0.1191920, 0.9503041],
    ]
)
_XYZ_TO_RGB = numpy.linalg.inv(_RGB_TO_XYZ)
_WHITE = numpy.array([0.95047, 1.0, 1.08883])
_EPS, _KAPPA = 216 / 24389, 24389 / 27


def _decode_gamma(c: numpy.ndarray) -> numpy.ndarray:
    return numpy.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


# uint8 input has 256 possible values: a table lookup gives the same numbers ~20x faster
_UINT8_TO_LINEAR = _decode_gamma(numpy.arange(256) / 255.0)


def srgb_to_linear(rgb: numpy.ndarray) -> numpy.ndarray:
    """sRGB 0..255 -> linear light 0..1."""
    if isinstance(rgb, numpy.ndarray) and rgb.dtype == numpy.uint8:
        return _UINT8_TO_LINEAR[rgb]
    return _decode_gamma(numpy.asarray(rgb, dtype=numpy.float64) / 255.0)


def linear_to_srgb(linear: numpy.ndarray) -> numpy.ndarray:
    """Linear light 0..1 -> sRGB 0..255 (float, clipped)."""
    c = numpy.clip(linear, 0.0, 1.0)
    c = numpy.where(c <= 0.0031308, c * 12.92, 1.055 * c ** (1 / 2.4) - 0.055)
    return c * 255.0


def srgb_to_lab(rgb: numpy.ndarray) -> numpy.ndarray:
    """(..., 3) sRGB 0..255 -> (..., 3) L*a*b*."""
    xyz = srgb_to_linear(rgb) @ _RGB_TO_XYZ.T / _WHITE
    f = numpy.where(xyz > _EPS, numpy.cbrt(xyz), (_KAPPA * xyz + 16) / 116)
    return numpy.stack(
        [116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]), 200 * (f[..., 1] - f[..., 2])],
        axis=-1,
    )


def lab_to_srgb(lab: numpy.ndarray) -> numpy.ndarray:
    """(..., 3) L*a*b* -> (..., 3) sRGB 0..255 (float, clipped to the gamut)."""
    lab = numpy.asarray(lab, dtype=numpy.float64)
    fy = (lab[..., 0] + 16) / 116
    f = numpy.stack([fy + lab[..., 1] / 500, fy, fy - lab[..., 2] / 200], axis=-1)
    xyz = numpy.where(f**3 > _EPS, f**3, (116 * f - 16) / _KAPPA) * _WHITE
    return linear_to_srgb(xyz @ _XYZ_TO_RGB.T)
