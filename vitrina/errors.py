"""One error type for the whole system.

Every error that can reach a client is a :class:`VitrinaError` carrying an HTTP
status, a stable machine-readable ``code``, a public message that says what to do,
and optional ``details``. The API maps them to one JSON shape in one place
(``vitrina.api.errors``); anything else is a 500 with no internals leaked.
"""

from __future__ import annotations

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


class Unavailable(VitrinaError):
    status, code, report = 503, "unavailable", True


class ConfigError(VitrinaError):
    """A wrong setting: start-up stops and names it."""

    status, code, report = 500, "config_error", True
