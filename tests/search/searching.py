"""What the search tests share: a catalogue of the real photos through the real pipeline,
and the model signals written straight into it while the model analysers are off.

The stand-in image embedding is a fixed random projection of the asset's own 320 px
rendition shrunk to 16 x 16 pixels (what the pipeline made, decoded by libvips): a
crop or a re-encode of a photo lands near it, a different photo far, which is the
property search by example relies on. It has the shape the ``imagenet`` analyser
stores (1280 dimensions, float32, unit length).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pyvips
from sqlalchemy import insert, select

from tests.conftest import PHOTOS, process_all
from vitrina.pipeline.queue import write_signals
from vitrina.pipeline.steps import SignalOut
from vitrina.search.vectors import encode_vector
from vitrina.storage.catalog.db import transaction
from vitrina.storage.catalog.models import Tag

IMAGE_DIM, TEXT_DIM = 1280, 384
_PROJECTION = np.random.default_rng(27).standard_normal((16 * 16 * 3, IMAGE_DIM)).astype(np.float32)
OTHER_PROJECT = "elsewhere"

#: what an OCR model reads in text.png (written as its ``ocr`` signal when models are off)
OCR_TEXT = {"text.png": "(s) = 1 e-st dt (t-x) e-as f(s) = 1/s"}
#: labels an ImageNet classifier gives these photos (the ``imagenet`` signal's tags, and
#: rows of ``tags`` with source "imagenet")
MODEL_TAGS = {
    "coffee.png": [("espresso", 0.61), ("cup", 0.21), ("coffee mug", 0.09)],
    "chelsea.png": [("tabby", 0.55), ("tiger cat", 0.3), ("egyptian cat", 0.1)],
    "rocket.jpg": [("missile", 0.47), ("projectile", 0.31), ("space shuttle", 0.12)],
    "astronaut.png": [("space suit", 0.4), ("military uniform", 0.2)],
    "camera.png": [("reflex camera", 0.35), ("tripod", 0.3)],
}


def models_available() -> bool:
    return importlib.util.find_spec("vitrina.analysis.models") is not None


def edits(tmp_path: Path) -> dict[str, Path]:
    """The coffee photo's 80 % centre crop, re-encoded as JPEG."""
    coffee = pyvips.Image.new_from_file(str(PHOTOS / "coffee.png"))
    w, h = round(coffee.width * 0.8), round(coffee.height * 0.8)
    crop = coffee.crop((coffee.width - w) // 2, (coffee.height - h) // 2, w, h)
    path = tmp_path / "coffee-crop.jpg"
    path.write_bytes(crop.jpegsave_buffer(Q=85))
    return {"coffee-crop.jpg": path}


def ingest_photos(rt, tmp_path: Path, *, project: str = "default",
                  only: tuple[str, ...] | None = None) -> dict[str, str]:
    """Every photo of data/photos (or those named in ``only``) and the coffee crop,
    processed; asset ids by file name."""
    files = {p.name: p for p in sorted(PHOTOS.iterdir()) if only is None or p.name in only} | edits(tmp_path)
    ids = {name: rt.ingestor.ingest_file(path, project=project).asset_id for name, path in files.items()}
    process_all(rt)
    return ids


def image_embedding(rt, asset_id: str) -> np.ndarray:
    """The stand-in embedding of the asset's 320 px JPEG rendition (see the module's docstring)."""
    record = rt.asset_repository.snapshot(None, asset_id)
    rendition = min((d for d in record.derivatives if d.format == "jpeg"), key=lambda d: d.width)
    image = pyvips.Image.new_from_buffer(rt.store.read_bytes(rendition.blob_key), "")
    image = image.colourspace("srgb")[:3] if image.bands >= 3 else image.colourspace("srgb")
    small = image.resize(16 / image.width, vscale=16 / image.height)
    pixels = np.ndarray(buffer=small.write_to_memory(), dtype=np.uint8,
                        shape=(small.height, small.width, small.bands))[:16, :16, :3]
    v = (pixels.astype(np.float32).reshape(-1) / 255.0 - 0.5) @ _PROJECTION
    return v / np.linalg.norm(v)


def write_signal(rt, asset_id: str, name: str, value: dict, *, producer: str | None = None) -> None:
    """Write a signal as the pipeline does (replacing one of the same name)."""
    with transaction(rt.sessions) as s:
        write_signals(s, asset_id, [SignalOut(name=name, producer=producer or name, version="test",
                                              value=value)])


def write_model_signals(rt, ids: dict[str, str]) -> None:
    """What the model analysers would store, for the assets of ``ids`` (file name -> id)."""
    for name, asset_id in ids.items():
        base = name.split("-")[0].split(".")[0]
        tags = next((t for n, t in MODEL_TAGS.items() if n.split(".")[0] == base), [])
        embedding = encode_vector(image_embedding(rt, asset_id))
        write_signal(rt, asset_id, "imagenet", {
            "tags": [{"label": label, "score": score, "class_id": n} for n, (label, score) in enumerate(tags)],
            "embedding": embedding})
        with transaction(rt.sessions) as s:  # the pipeline writes a signal's tags as rows; if not, here
            if tags and s.scalar(select(Tag.tag).where(Tag.asset_id == asset_id, Tag.source == "imagenet")) is None:
                s.execute(insert(Tag.__table__), [{"asset_id": asset_id, "tag": label, "source": "imagenet",
                                                   "score": score, "version": "test"} for label, score in tags])
        if name in OCR_TEXT:
            write_signal(rt, asset_id, "ocr", {"text": OCR_TEXT[name], "lines": [OCR_TEXT[name]]})
