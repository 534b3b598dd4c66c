"""Exceptions raised by the SDK.

Every error answer of the API has the shape ``{"error": {"code", "message", "details"}}``;
it becomes a :class:`VitrinaAPIError` (or a subclass picked by HTTP status) carrying
those fields. Failures below HTTP (DNS, refused connections, timeouts) become a
:class:`VitrinaConnectionError` whose message says what to check.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import httpx

if TYPE_CHECKING:
    from vitrina.client.models import Asset


class VitrinaClientError(Exception):
    """Base of everything this SDK raises on purpose."""


class VitrinaConnectionError(VitrinaClientError):
    """The server could not be reached or did not answer in time."""


class VitrinaAPIError(VitrinaClientError):
    """The server answered with an error: HTTP ``status`` and a stable ``code``."""

    def __init__(self, status: int, code: str, message: str, details: dict[str, Any] | None = None,
                 *, retry_after: float | None = None) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.details = details or {}
        #: seconds the server asked us to wait (429 and 503 answers), when it said so
        self.retry_after = retry_after


class BadRequestError(VitrinaAPIError):
    """4xx answers about the request or the uploaded bytes (see ``code``)."""


class UnauthorizedError(VitrinaAPIError):
    """401: no API key, or one the server does not know."""


class ForbiddenError(VitrinaAPIError):
    """403: the API key lacks the scope this call needs."""


class NotFoundError(VitrinaAPIError):
    """404: no such asset (or derivative)."""


class ConflictError(VitrinaAPIError):
    """409: e.g. an Idempotency-Key reused for different bytes."""


class RateLimitedError(VitrinaAPIError):
    """429: slow down; ``retry_after`` says for how long when the server knows."""


class ServerError(VitrinaAPIError):
    """5xx: the server failed or is unavailable; retrying later may help."""


_BY_STATUS: dict[int, type[VitrinaAPIError]] = {
    401: UnauthorizedError, 403: ForbiddenError, 404: NotFoundError,
    409: ConflictError, 429: RateLimitedError,
}


class AssetFailedError(VitrinaClientError):
    """The asset's pipeline ended in ``failed``; ``asset`` holds the last state seen."""

    def __init__(self, asset: Asset) -> None:
        failed = [f"{s.step} after {s.attempts} attempt(s): {s.error or 'no reason given'}"
                  for s in asset.steps if s.state == "failed"]
        reason = asset.error or "; ".join(failed) or "no reason given"
        super().__init__(f"asset {asset.id} failed to process: {reason}")
        self.asset = asset


class WaitTimeoutError(VitrinaClientError, TimeoutError):
    """The asset was not ready in time; ``asset`` holds the last state seen."""

    def __init__(self, asset: Asset, timeout: float) -> None:
        steps = ", ".join(f"{s.step}={s.state}" for s in asset.steps) or "none started"
        super().__init__(
            f"asset {asset.id} is still {asset.status!r} after {timeout:g}s (steps: {steps}); "
            "the server's pipeline workers may be busy or not running: check them, or wait longer "
            "with a larger timeout="
        )
        self.asset = asset
        self.timeout = timeout


class IntegrityError(VitrinaClientError):
    """Downloaded bytes do not match what the server said it sent."""


class ProtocolError(VitrinaClientError):
    """The server answered with something this SDK cannot read (wrong URL or version?)."""


def error_from_response(response: httpx.Response) -> VitrinaAPIError:
    """Turn an error answer (already read) into the matching exception."""
    status = response.status_code
    code, message, details = "http_error", "", {}
    try:
        body = response.json()
        error = body["error"]
        code = str(error.get("code") or code)
        message = str(error.get("message") or "")
        details = error.get("details") or {}
        if not isinstance(details, dict):
            details = {"details": details}
    except (ValueError, KeyError, TypeError, AttributeError):
        # not our JSON shape: a proxy, a load balancer or another service answered
        snippet = response.text[:200].strip() if response.content else ""
        message = f"{response.reason_phrase or 'HTTP error'} from {response.request.url}"
        if snippet:
            message += f": {snippet}"
    cls = _BY_STATUS.get(status) or (ServerError if status >= 500 else BadRequestError)
    return cls(status, code, message or f"HTTP {status}", details, retry_after=_retry_after(response))


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after", "")
    try:
        return float(value)
    except ValueError:
        return None  # absent, or an HTTP date: leave the choice to the caller
