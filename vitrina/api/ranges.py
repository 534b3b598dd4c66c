"""HTTP byte ranges (RFC 9110 section 14): one range per request, else the whole body."""

from __future__ import annotations

import re

from vitrina.errors import RangeNotSatisfiable

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


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
        n = int(last)
        if n == 0:
            raise _unsatisfiable(size)
        return max(size - n, 0), size
    start = int(first)
    end = size if last == "" else min(int(last) + 1, size)
    if start >= size or end <= start:
        raise _unsatisfiable(size)
    return start, end


def _unsatisfiable(size: int) -> RangeNotSatisfiable:
    return RangeNotSatisfiable(f"range not satisfiable: the resource has {size} bytes",
                               details={"size": size})
