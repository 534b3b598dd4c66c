"""Checks of the text arguments REST checks with its query patterns: a catalog cannot
look up a NUL (PostgreSQL refuses it: a 500), and an unbounded string costs memory
before any service sees it."""

from __future__ import annotations

import re

from vitrina.errors import InvalidInput, InvalidText

_BAD_TEXT = re.compile("[\x00\ud800-\udfff]")


def text(value: str | None, name: str, max_length: int, pattern: str | None = None, *,
         min_length: int = 0) -> str | None:
    """``value`` when it is storable text of ``min_length`` to ``max_length`` characters
    that matches ``pattern`` (when given); ``invalid_text`` / ``invalid_input`` otherwise."""
    if value is None:
        return None
    if _BAD_TEXT.search(value):
        raise InvalidText(f"{name} must not contain NUL characters or lone surrogates", details={"argument": name})
    if not min_length <= len(value) <= max_length:
        raise InvalidInput(f"{name} is {min_length} to {max_length} characters",
                           details={"argument": name, "min_length": min_length, "max_length": max_length})
    if pattern is not None and re.fullmatch(pattern, value) is None:
        raise InvalidInput(f"{name} does not match {pattern}", details={"argument": name, "pattern": pattern})
    return value
