"""One runtime with the model analysers on, made once per test process: the photos
and a rendered sign ingested and processed, so the model tests (here and in the
contract suite) load each model once and pay for one pipeline run."""

from __future__ import annotations

import atexit
import functools
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from tests.conftest import PHOTOS, make_settings
from vitrina.config import MODEL_ANALYSERS
from vitrina.runtime import Runtime
from vitrina.testing import make_runtime, process_all

#: what the sign says, line by line, and where each line starts (x, y) in its pixels
SIGN_LINES = (("Harbour lighthouse tours", (60, 60)), ("Tickets at the museum shop", (60, 260)),
              ("Open daily from nine to five", (60, 460)))
SIGN_SIZE = (2000, 620)  # wider than a page: OCR reads a 1280 px rendition and scales back


def sign_boxes() -> list[tuple[int, int, int, int]]:
    """Where each line's ink is on the sign: (left, top, right, bottom) in its pixels."""
    draw = ImageDraw.Draw(Image.new("RGB", SIGN_SIZE))
    font = ImageFont.load_default(size=96)
    return [draw.textbbox(xy, text, font=font) for text, xy in SIGN_LINES]


def make_sign(path: Path) -> Path:
    """A photo-sized picture of printed text, drawn with Pillow's bundled font."""
    image = Image.new("RGB", SIGN_SIZE, (250, 248, 240))
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=96)
    for text, xy in SIGN_LINES:
        draw.text(xy, text, fill=(20, 20, 30), font=font)
    image.save(path)
    return path


@dataclass(frozen=True)
class Processed:
    runtime: Runtime
    ids: dict[str, str]  # file name -> asset id
    directory: Path


#: in an order where neighbours differ for every model analyser (the contract compares
#: the first two)
FILES = ("sign.png", "text.png", "chelsea.png", "coffee.png")


@functools.cache
def processed_with_models() -> Processed:
    directory = Path(tempfile.mkdtemp(prefix="vitrina-models-"))
    settings = make_settings(directory, f"sqlite:///{directory / 'catalog.db'}",
                             analysis={"models": list(MODEL_ANALYSERS)})
    runtime = make_runtime(settings)
    sign = make_sign(directory / "sign.png")
    paths = {name: sign if name == "sign.png" else PHOTOS / name for name in FILES}
    ids = {name: runtime.ingestor.ingest_file(path).asset_id for name, path in paths.items()}
    process_all(runtime)

    def cleanup() -> None:
        runtime.close()
        shutil.rmtree(directory, ignore_errors=True)

    atexit.register(cleanup)
    return Processed(runtime, ids, directory)
