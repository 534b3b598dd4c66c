"""`vitrina recs report`: serving health per model and variant."""

from __future__ import annotations

COMMANDS: list = []
