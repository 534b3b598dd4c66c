"""The base of the built-in analysers: plain code over the image kind's preview."""

from __future__ import annotations

from vitrina.kinds.image.inputs import PREVIEW


class PreviewAnalyser:
    input = PREVIEW
    model: str | None = None  # plain code, no model behind the numbers
    batch_size = 64  # cheap per image: a backfill batch is only bounded by memory
