"""`vitrina recs verdicts`: one policy's offline, off-policy and A/B figures side by side."""

from __future__ import annotations

COMMANDS: list = []
