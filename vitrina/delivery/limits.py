"""Server-side caps on what one transformation may ask for, with safe defaults.

:func:`check_limits` refuses what the ops alone show to be too much (before any
decode); :func:`check_output` refuses a planned output once the source size is known
(``w`` alone on a huge source, ``dpr`` on ``c_scale`` without sizes).
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from vitrina.delivery.errors import OpOutOfRange
from vitrina.delivery.ops import Ops
from vitrina.errors import ConfigError, MediaTooLarge


@dataclass(frozen=True)
class DeliveryLimits:
    #: widest / tallest output in device pixels (after dpr)
    max_width: int = 8192
    max_height: int = 8192
    #: output width x height in device pixels
    max_output_pixels: int = 40_000_000
    #: source width x height; larger sources are refused before decoding
    max_source_pixels: int = 100_000_000
    #: overlays (``l_``) per request
    max_overlays: int = 4
    #: largest device pixel ratio
    max_dpr: float = 4.0
    #: largest blur sigma in device pixels (cost grows with sigma)
    max_blur: float = 100.0
    #: stop a render that runs longer than this (seconds); None = no budget
    max_render_seconds: float | None = 20.0

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if value is not None and value <= 0:
                raise ConfigError(f"delivery limit {f.name} must be positive, got {value!r}")


def check_limits(ops: Ops, limits: DeliveryLimits) -> None:
    """Refuse ops that ask for more than ``limits`` (400 ``op_out_of_range``)."""
    if len(ops.l) > limits.max_overlays:
        raise OpOutOfRange("l", f"at most {limits.max_overlays} overlays", value=str(len(ops.l)))
    if ops.dpr > limits.max_dpr:
        raise OpOutOfRange("dpr", f"at most {limits.max_dpr:g}", value=f"{ops.dpr:g}")
    for name, side, cap in (("w", ops.w, limits.max_width), ("h", ops.h, limits.max_height)):
        if side is not None and side * ops.dpr > cap:
            raise OpOutOfRange(
                name, f"at most {cap} device pixels (w or h times dpr)", value=str(side)
            )
    if (
        ops.w is not None
        and ops.h is not None
        and ops.w * ops.h * ops.dpr**2 > limits.max_output_pixels
    ):
        raise OpOutOfRange("w", f"output over {limits.max_output_pixels} pixels")
    for e in ops.e:
        if e.name == "blur" and (e.sigma or 0) * ops.dpr > limits.max_blur:
            raise OpOutOfRange("e", f"blur sigma at most {limits.max_blur:g} device pixels")
    for o in ops.l:
        if o.w is not None and o.w * ops.dpr > limits.max_width:
            raise OpOutOfRange("l", f"overlay width at most {limits.max_width} device pixels")


def check_output(width: int, height: int, ops: Ops, limits: DeliveryLimits) -> None:
    """Refuse a planned output size over the limits, naming the op that asked for it."""
    op = "w" if ops.w is not None else "h" if ops.h is not None else "dpr"
    if width > limits.max_width or height > limits.max_height:
        raise OpOutOfRange(
            op, f"output {width}x{height} is over {limits.max_width}x{limits.max_height}"
        )
    if width * height > limits.max_output_pixels:
        raise OpOutOfRange(op, f"output {width}x{height} is over {limits.max_output_pixels} pixels")


def check_source(width: int, height: int, limits: DeliveryLimits) -> None:
    if width * height > limits.max_source_pixels:
        raise MediaTooLarge(
            f"Source is {width}x{height}, over {limits.max_source_pixels} pixels.",
            details={"width": width, "height": height},
        )
