"""Perceptual-hash snapshots of rendered creatives: a render must stay within
``MAX_DISTANCE`` bits of its stored hash. ``VITRINA_REGENERATE_SNAPSHOTS=1`` rewrites
the stored hashes (and reference PNGs) from the current renders instead of comparing."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import imagehash
from PIL import Image

from vitrina.analysis.phash import phash_distance

DIR = Path(__file__).parent / "snapshots"
HASHES = DIR / "phash.json"
MAX_DISTANCE = 6


def regenerating() -> bool:
    return os.environ.get("VITRINA_REGENERATE_SNAPSHOTS") == "1"


def phash(png: bytes) -> str:
    with Image.open(io.BytesIO(png)) as im:
        return str(imagehash.phash(im.convert("RGB"), hash_size=8))


def check(key: str, png: bytes) -> int:
    """The distance of ``png`` from its snapshot (0 when regenerating)."""
    stored = json.loads(HASHES.read_text()) if HASHES.exists() else {}
    current = phash(png)
    if regenerating():
        stored[key] = current
        HASHES.write_text(json.dumps(dict(sorted(stored.items())), indent=1) + "\n")
        return 0
    assert key in stored, f"no snapshot for {key}: run with VITRINA_REGENERATE_SNAPSHOTS=1"
    return phash_distance(stored[key], current)


def reference_png(name: str, png: bytes) -> bytes:
    """The stored reference PNG ``name`` (written from ``png`` when regenerating)."""
    path = DIR / name
    if regenerating():
        path.write_bytes(png)
    return path.read_bytes()
