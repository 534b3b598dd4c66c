"""`vitrina recs keywords`: topic keywords for items with thin text."""

from __future__ import annotations

COMMANDS: list = []
