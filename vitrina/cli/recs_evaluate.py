"""`vitrina recs evaluate`: the leaderboard of every model on one split, and its plot."""

from __future__ import annotations

COMMANDS: list = []
