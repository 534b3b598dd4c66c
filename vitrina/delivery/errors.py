"""Delivery's errors: each names the op or path part at fault in ``details``."""

from __future__ import annotations

from vitrina.errors import Forbidden, InvalidInput, Unavailable


class InvalidOps(InvalidInput):
    """An ops string that does not parse: unknown op, bad value, conflicting ops."""

    status, code = 400, "invalid_op"

    def __init__(self, op: str, message: str, *, value: str | None = None) -> None:
        details: dict[str, str] = {"op": op}
        if value is not None:
            details["value"] = value[:100]
        super().__init__(f"Op {op!r}: {message}", details=details)
        self.op = op


class OpOutOfRange(InvalidOps):
    """A well-formed op asking for more than the server's limits allow."""

    code = "op_out_of_range"


class InvalidPath(InvalidInput):
    """An image path with characters or parts no valid URL has (encoded slashes, '..')."""

    status, code = 400, "invalid_path"


class SignatureError(Forbidden):
    """A refused signature; ``code`` says why: bad_signature, expired_url, unknown_key,
    signature_required."""

    code = "bad_signature"


class RenderTimeout(Unavailable):
    """The render went over its time budget and was stopped."""

    code = "render_timeout"
