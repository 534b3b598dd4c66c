"""Image delivery: the URL contract of ``/img/{signature}/{ops}/{asset_id}`` and the
HTTP path that serves it. The pixels are made by the media engine
(:func:`vitrina.media.transform.transform`).

The URL contract is plain Python (no libvips, numpy or OpenCV), so signing a URL from
the SDK or the CLI loads nothing heavy; ``import vitrina.delivery`` gives exactly it:

- :mod:`~vitrina.delivery.ops`: the :class:`Ops` data shape and the words of the grammar
- :mod:`~vitrina.delivery.values`: parsers of single op values
- :mod:`~vitrina.delivery.grammar`: :func:`parse_ops`, :func:`canonical`, preset checks
- :mod:`~vitrina.delivery.paths`: splitting and refusing image paths
- :mod:`~vitrina.delivery.signing`: :class:`Signer` (HMAC, key rotation, expiry)
- :mod:`~vitrina.delivery.negotiate`: :func:`choose_format` (``f_auto`` and ``Accept``)
- :mod:`~vitrina.delivery.limits`: :class:`DeliveryLimits` and the checks of ops against them
- :mod:`~vitrina.delivery.errors`: the errors above, each naming the op at fault

The HTTP path (imported by name; it loads the engine): ``service`` (from a request path
to a ready answer), ``sources`` (asset records with a TTL), ``cache`` (keys, the
in-memory LRU), ``flight`` (single-flight), ``limiter`` (concurrency cap), ``stats``
and ``configured`` (objects built from the settings).

A route is thin::

    sig, ops_text, asset_id = parse_path(raw_path)
    signer.verify(sig, f"{ops_text}/{asset_id}", now=time.time())   # before parsing ops
    ops = parse_ops(ops_text, presets); check_limits(ops, limits)
    fmt, negotiated = choose_format(ops, accept, has_alpha, source_format)
    key = (sha256, canonical(ops), fmt)                                # cache key
    rendered = transform(blob_path, ops, fmt, focus=stored_focus, overlays=..., limits=limits)
"""

from __future__ import annotations

from vitrina.delivery.errors import (
    InvalidOps,
    InvalidPath,
    OpOutOfRange,
    RenderTimeout,
    SignatureError,
)
from vitrina.delivery.grammar import canonical, parse_ops, validate_presets
from vitrina.delivery.limits import DeliveryLimits, check_limits
from vitrina.delivery.negotiate import choose_format
from vitrina.delivery.ops import Effect, Ops, Overlay
from vitrina.delivery.paths import ImagePath, build_path, parse_path
from vitrina.delivery.signing import Signer

__all__ = [
    "DeliveryLimits",
    "Effect",
    "ImagePath",
    "InvalidOps",
    "InvalidPath",
    "OpOutOfRange",
    "Ops",
    "Overlay",
    "RenderTimeout",
    "SignatureError",
    "Signer",
    "build_path",
    "canonical",
    "check_limits",
    "choose_format",
    "parse_ops",
    "parse_path",
    "validate_presets",
]  # fmt: skip

