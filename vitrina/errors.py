"""One error type for the whole system.

Every error that can reach a client is a :class:`VitrinaError` carrying an HTTP
status, a stable machine-readable ``code``, a public message that says what to do,
and optional ``details``. :func:`error_parts` makes the one HTTP answer for any of them
(status, headers, JSON body), which the FastAPI handlers (``vitrina.api.errors``) and
the raw image route (``vitrina.api.images``) both send; anything else is a 500 with no
internals leaked.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any


class VitrinaError(Exception):
    status: int = 400
    code: str = "bad_request"
    #: whether an operator should hear about it (5xx-like faults), not client mistakes
    report: bool = False

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        status: int | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status
        self.details = details or {}

    def to_dict(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message, "details": self.details}}


class InvalidInput(VitrinaError):
    status, code = 400, "invalid_input"


class InvalidText(InvalidInput):
    """Text no catalog can store: a NUL character, a lone surrogate or bytes that are not UTF-8."""

    status, code = 400, "invalid_text"


class InvalidKey(VitrinaError):
    """A storage key or file name that could escape its directory or is malformed."""

    status, code = 400, "invalid_key"


class Unauthorized(VitrinaError):
    status, code = 401, "unauthorized"


class Forbidden(VitrinaError):
    status, code = 403, "forbidden"


class NotFound(VitrinaError):
    status, code = 404, "not_found"


class Conflict(VitrinaError):
    status, code = 409, "conflict"


class PayloadTooLarge(VitrinaError):
    status, code = 413, "payload_too_large"


class UnsupportedMediaType(VitrinaError):
    status, code = 415, "unsupported_media_type"


class RangeNotSatisfiable(VitrinaError):
    status, code = 416, "range_not_satisfiable"


class CorruptMedia(VitrinaError):
    """The bytes claim a known format but cannot be decoded (truncated, bad chunk...)."""

    status, code = 422, "corrupt_media"


class MediaTooLarge(VitrinaError):
    """Decoded size over the limits (pixels, frames, duration): a decompression bomb."""

    status, code = 422, "media_too_large"


class TooManyRequests(VitrinaError):
    status, code = 429, "too_many_requests"


class QuotaExceeded(VitrinaError):
    """Over one of the caller's project quotas. ``details`` name the quota, its
    ``limit`` and the ``current`` figure; the subclasses carry the stable codes."""

    status, code = 413, "quota_exceeded"


class QuotaBytesExceeded(QuotaExceeded):
    """The upload would bring the project's stored bytes over ``max_bytes``."""

    status, code = 413, "quota_bytes_exceeded"


class QuotaAssetsExceeded(QuotaExceeded):
    """The upload would bring the project's asset count over ``max_assets``."""

    status, code = 413, "quota_assets_exceeded"


class UploadRateExceeded(QuotaExceeded):
    """The project started ``uploads_per_minute`` uploads this minute already."""

    status, code = 429, "upload_rate_exceeded"


class RenderRateExceeded(QuotaExceeded):
    """The project's assets caused ``renders_per_minute`` uncached renders this minute already."""

    status, code = 429, "render_rate_exceeded"


class Unavailable(VitrinaError):
    status, code, report = 503, "unavailable", True


class ConfigError(VitrinaError):
    """A wrong setting: start-up stops and names it."""

    status, code, report = 500, "config_error", True


class MethodNotAllowed(VitrinaError):
    """A method the resource does not answer; ``allow`` (the Allow header) names those it does."""

    status, code = 405, "method_not_allowed"

    def __init__(self, message: str, *, allow: Sequence[str],
                 details: dict[str, Any] | None = None) -> None:  # fmt: skip
        super().__init__(message, details=details)
        self.allow = tuple(allow)


#: seconds a client is asked to wait after a 429 or 503
RETRY_AFTER_SECONDS = 1


def error_parts(exc: VitrinaError) -> tuple[int, list[tuple[str, str]], bytes]:
    """``(status, headers, body)`` of the answer to ``exc``, for every route.

    The body is ``{"error": {"code", "message", "details"}}`` as UTF-8 JSON. Headers:
    the content type and length, ``Cache-Control: no-store`` (an error is never cached),
    ``Retry-After`` for 429 and 503, ``Allow`` for a 405 that names its methods, and
    ``Content-Range: bytes */{size}`` for a 416 whose details give the size.
    """
    body = json.dumps(exc.to_dict(), ensure_ascii=False, allow_nan=False,
                      separators=(",", ":")).encode()
    headers = [
        ("content-type", "application/json"),
        ("content-length", str(len(body))),
        ("cache-control", "no-store"),
    ]
    if exc.status in (429, 503):
        headers.append(("retry-after", str(RETRY_AFTER_SECONDS)))
    if exc.status == 405 and isinstance(exc, MethodNotAllowed):
        headers.append(("allow", ", ".join(exc.allow)))
    if exc.status == 416 and "size" in exc.details:
        headers.append(("content-range", f"bytes */{exc.details['size']}"))
    return exc.status, headers, body
