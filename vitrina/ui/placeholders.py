"""An asset's placeholder while its picture loads: its stored BlurHash decoded on the
server into a tiny PNG, inlined as a data: URI that the browser stretches (no script)."""

from __future__ import annotations

import base64
import io
from collections.abc import Mapping
from functools import lru_cache

import blurhash
import numpy
from PIL import Image

from vitrina.assets.records import SignalRecord

#: the decoded picture's longer side: the hash holds 4x3 terms, more pixels add nothing
SIDE = 16


def placeholder(signals: Mapping[str, SignalRecord], width: int | None, height: int | None) -> str | None:
    """A data: URI for the asset's BlurHash, or None when it has none (yet)."""
    found = signals.get("blurhash")
    text = found.value.get("hash") if found is not None else None
    if not isinstance(text, str) or not blurhash.is_valid_blurhash(text):
        return None
    w, h = width or SIDE, height or SIDE
    scale = SIDE / max(w, h)
    return _decoded(text, max(1, round(w * scale)), max(1, round(h * scale)))


@lru_cache(maxsize=4096)
def _decoded(text: str, width: int, height: int) -> str:
    pixels = blurhash.decode(text, width, height)
    out = io.BytesIO()
    array = numpy.clip(numpy.asarray(pixels, dtype=numpy.float64), 0, 255).astype(numpy.uint8)
    Image.fromarray(array.reshape(height, width, 3), "RGB").save(out, "PNG", optimize=True)
    return "data:image/png;base64," + base64.b64encode(out.getvalue()).decode()

