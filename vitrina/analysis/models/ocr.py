"""Text in the picture: RapidOCR (PP-OCRv4 detection and recognition, ONNX Runtime).

Reads the image kind's ``page`` (up to 1280 px, its own ``ocr`` step): the 256 px
preview is too small for text a few pixels tall. Lines come in reading order (top to
bottom, then left to right), each with its recognition score and its box's four
corners in the original image's pixels.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy

from vitrina.analysis.base import check_image
from vitrina.analysis.models.loading import THREADS, cached, package_version
from vitrina.errors import InvalidInput
from vitrina.kinds.image.inputs import PAGE, Page

PACKAGE = "rapidocr-onnxruntime"


@dataclass(frozen=True)
class Reader:
    engine: Any  # rapidocr_onnxruntime.RapidOCR
    lock: threading.Lock  # one page at a time per process: its sessions share state


def load() -> Reader:
    return cached(("rapidocr",), _load)


def _load() -> Reader:
    import logging

    from rapidocr_onnxruntime import RapidOCR

    logging.getLogger("RapidOCR").setLevel(logging.WARNING)
    # detection at the page's own resolution ("max": never upscaled; the default "min"
    # blows a 1280 x 400 page up to 2370 x 736 and costs 3-6 times as long)
    engine = RapidOCR(intra_op_num_threads=THREADS, inter_op_num_threads=1, det_limit_type="max")
    return Reader(engine, threading.Lock())


class OcrAnalyser:
    name = "ocr"
    version = "1"
    input = PAGE
    #: pages are read one at a time (the detector's input size follows each page):
    #: a backfill batch only bounds the pages held in memory
    batch_size = 8

    def __init__(self) -> None:
        self.model = f"rapidocr@{package_version(PACKAGE, self.name)}"

    def analyse(self, pages: Sequence[Page]) -> list[dict]:
        return [self.read(page) for page in pages]

    def read(self, page: Page) -> dict:
        if not isinstance(page, Page):
            raise InvalidInput(f"expected a Page, got {type(page).__name__}")
        image = check_image(page.image)
        reader = load()
        bgr = numpy.ascontiguousarray(image[..., ::-1])  # RapidOCR takes arrays as OpenCV's BGR
        with reader.lock:
            found, _ = reader.engine(bgr)
        sx, sy = page.scale
        lines = [
            {"text": str(text), "score": round(float(score), 4),
             "box": [[round(float(x) * sx, 1), round(float(y) * sy, 1)] for x, y in box]}
            for box, text, score in found or ()
            if str(text).strip()
        ]
        return {"text": "\n".join(line["text"] for line in lines), "lines": lines}
