"""HTTP byte ranges (RFC 9110 section 14): one range per request, else the whole body."""

from __future__ import annotations

import re

from vitrina.errors import RangeNotSatisfiable

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$", re.ASCII)
#: any position with more digits than this is past the end of every resource
_MAX_DIGITS = 18


def _position(digits: str) -> int:
    """A byte position of any length (no int conversion limit): huge ones saturate."""
    digits = digits.lstrip("0") or "0"
    return 10**_MAX_DIGITS if len(digits) > _MAX_DIGITS else int(digits)


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """(start, end_exclusive) for a satisfiable single range, None to send everything."""
    if not header:
        return None
    m = _RANGE.match(header.strip())
    if m is None:
        return None  # multiple or unknown range units: ignoring Range is allowed
    first, last = m.groups()
    if first == "" and last == "":
        return None
    if first == "":  # suffix: the last N bytes
        n = _position(last)
        if n == 0:
            raise _unsatisfiable(size)
        return max(size - n, 0), size
    start = _position(first)
    end = size if last == "" else min(_position(last) + 1, size)
    if start >= size or end <= start:
        raise _unsatisfiable(size)
    return start, end


def _unsatisfiable(size: int) -> RangeNotSatisfiable:
    return RangeNotSatisfiable(f"range not satisfiable: the resource has {size} bytes",
                               details={"size": size})
