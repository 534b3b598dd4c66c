"""`vitrina creative report` and `vitrina creative estimate`: per-variant results and
off-policy estimates of a placement's selection."""

from __future__ import annotations

COMMANDS: list = []
