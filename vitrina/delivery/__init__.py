"""Image delivery: the ``/img/{signature}/{ops}/{asset_id}`` URL grammar, signing,
format negotiation and the libvips transformation engine.

A route is thin::

    sig, ops_text, asset_id = parse_path(raw_path)
    signer.verify(sig, f"{ops_text}/{asset_id}", now=time.time())   # before parsing ops
    ops = parse_ops(ops_text, presets); check_limits(ops, limits)
    fmt, negotiated = choose_format(ops, accept, has_alpha, source_format)
    key = (sha256, canonical(ops), fmt)                                # cache key
    rendered = transform(blob_path, ops, fmt, focus=stored_focus, overlays=..., limits=limits)
"""

from vitrina.delivery.errors import (
    InvalidOps,
    InvalidPath,
    OpOutOfRange,
    RenderTimeout,
    SignatureError,
)
from vitrina.delivery.focus import Box, Focus, detect_focus
from vitrina.delivery.grammar import canonical, parse_ops, validate_presets
from vitrina.delivery.limits import DeliveryLimits, check_limits
from vitrina.delivery.negotiate import choose_format
from vitrina.delivery.ops import Effect, Ops, Overlay
from vitrina.delivery.paths import ImagePath, build_path, parse_path
from vitrina.delivery.signing import Signer
from vitrina.delivery.transform import Proxy, Rendered, transform

__all__ = [
    "Box",
    "DeliveryLimits",
    "Effect",
    "Focus",
    "ImagePath",
    "InvalidOps",
    "InvalidPath",
    "OpOutOfRange",
    "Ops",
    "Overlay",
    "Proxy",
    "RenderTimeout",
    "Rendered",
    "SignatureError",
    "Signer",
    "build_path",
    "canonical",
    "check_limits",
    "choose_format",
    "detect_focus",
    "parse_ops",
    "parse_path",
    "transform",
    "validate_presets",
]  # fmt: skip
