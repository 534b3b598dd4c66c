"""Where the interesting part of a picture is: faces (OpenCV Haar cascade) and the
salient point (libvips attention).

Computed once at ingest and stored with the asset (:meth:`Focus.to_dict`), so that
``g_face`` and ``g_auto`` never detect while serving. Coordinates are normalised
0..1 in the upright source (EXIF orientation applied).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

import numpy
import pyvips

from vitrina.errors import InvalidInput
from vitrina.media.colour import to_srgb
from vitrina.media.source import Source, thumbnail

PRODUCER = "vitrina.focus"
# bump when detection changes, so backfills know what is stale (3: the 256 px analysis preview)
VERSION = "3"
# faces and the salient point are found at this longest side, the analysis preview's,
# whether the picture comes as a preview or as an encoded source
DETECT_SIZE = 256
# libvips blurs its attention map in proportion to the crop it is asked for: a window
# of 3/4 of the picture finds the subject (a face, a rocket) rather than its single
# brightest detail (a badge, a lamp), which is what crops of any size should keep
SALIENCY_WINDOW = 0.75
MAX_FACES = 16


@dataclass(frozen=True)
class Box:
    x: float
    y: float
    w: float
    h: float

    def union(self, other: Box) -> Box:
        x0, y0 = min(self.x, other.x), min(self.y, other.y)
        x1, y1 = max(self.x + self.w, other.x + other.w), max(self.y + self.h, other.y + other.h)
        return Box(x0, y0, x1 - x0, y1 - y0)

    @property
    def centre(self) -> tuple[float, float]:
        return (self.x + self.w / 2, self.y + self.h / 2)


@dataclass(frozen=True)
class Focus:
    faces: tuple[Box, ...] = ()
    salient: tuple[float, float] | None = None
    producer: str = PRODUCER
    version: str = VERSION

    def face_box(self) -> Box | None:
        """The box around all faces, or None when there are none."""
        if not self.faces:
            return None
        box = self.faces[0]
        for other in self.faces[1:]:
            box = box.union(other)
        return box

    def to_dict(self) -> dict[str, Any]:
        return {
            "faces": [[round(v, 5) for v in (b.x, b.y, b.w, b.h)] for b in self.faces],
            "salient": None if self.salient is None else [round(v, 5) for v in self.salient],
            "producer": self.producer,
            "version": self.version,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Focus:
        try:
            faces = tuple(Box(*(float(v) for v in face)) for face in data.get("faces", ()))
            salient = data.get("salient")
            point = None if salient is None else (float(salient[0]), float(salient[1]))
            focus = cls(
                faces, point, str(data.get("producer", PRODUCER)), str(data.get("version", VERSION))
            )
        except (TypeError, ValueError, IndexError) as err:
            raise InvalidInput(f"Malformed focus data: {err}") from None
        coords = [v for b in faces for v in (b.x, b.y, b.x + b.w, b.y + b.h)] + list(point or ())
        if any(not 0.0 <= v <= 1.0 for v in coords) or any(b.w <= 0 or b.h <= 0 for b in faces):
            raise InvalidInput("Focus coordinates must lie within 0..1.")
        return focus


class FaceFinder(Protocol):
    """Finds faces in an 8-bit grey image; returns (x, y, w, h) pixel boxes."""

    name: str
    version: str

    def find(self, grey: numpy.ndarray) -> list[tuple[int, int, int, int]]: ...


class HaarFaceFinder:
    """OpenCV's frontal-face Haar cascade; loaded on first use, one detection at a time
    (a cascade object is not safe to share between threads)."""

    # 384 px and a 1.2 pyramid step: ~3x faster than 512 px at 1.1, same faces on the test photos
    name, version = "opencv-haar-frontalface-default", "2"

    def __init__(self, min_neighbors: int = 5, min_fraction: float = 0.05) -> None:
        self._min_neighbors = min_neighbors
        self._min_fraction = min_fraction
        self._lock = threading.Lock()
        self._cascade: Any = None

    def find(self, grey: numpy.ndarray) -> list[tuple[int, int, int, int]]:
        import cv2

        side = max(24, int(min(grey.shape[:2]) * self._min_fraction))
        with self._lock:
            if self._cascade is None:
                self._cascade = cv2.CascadeClassifier(
                    str(Path(cv2.data.haarcascades) / "haarcascade_frontalface_default.xml")
                )
                if self._cascade.empty():
                    raise RuntimeError("OpenCV's Haar face cascade did not load")
            found = self._cascade.detectMultiScale(
                grey, scaleFactor=1.2, minNeighbors=self._min_neighbors, minSize=(side, side)
            )
        return [tuple(int(v) for v in box) for box in found]  # type: ignore[misc]


@lru_cache(maxsize=1)
def default_face_finder() -> HaarFaceFinder:
    return HaarFaceFinder()


def detect_focus(source: Source, *, finder: FaceFinder | None = None) -> Focus:
    """Faces and salient point of an encoded image (upright, normalised coordinates)."""
    return focus_of(_upright(source, DETECT_SIZE), finder=finder)


def focus_of(image: pyvips.Image, *, finder: FaceFinder | None = None) -> Focus:
    """Faces and salient point of an upright 8-bit sRGB image already in memory."""
    import cv2

    # Rec. 601 luma, as the cascades were trained on (libvips' "b-w" goes through CIELAB)
    grey = cv2.cvtColor(image.numpy().reshape(image.height, image.width, 3), cv2.COLOR_RGB2GRAY)
    boxes = (finder or default_face_finder()).find(numpy.ascontiguousarray(grey))
    boxes = sorted(boxes, key=lambda b: -b[2] * b[3])[:MAX_FACES]
    w, h = image.width, image.height
    faces = tuple(Box(x / w, y / h, bw / w, bh / h) for x, y, bw, bh in boxes)
    return Focus(faces=faces, salient=salient_point(image))


def salient_point(image: pyvips.Image) -> tuple[float, float]:
    """libvips' attention centre of an in-memory image, normalised."""
    scale = min(1.0, DETECT_SIZE / max(image.width, image.height))
    small = image.resize(scale) if scale < 1 else image
    if small.width < 4 or small.height < 4:
        return (0.5, 0.5)
    window = (
        max(1, int(small.width * SALIENCY_WINDOW)),
        max(1, int(small.height * SALIENCY_WINDOW)),
    )
    _, found = small.smartcrop(*window, interesting="attention", attention_x=True, attention_y=True)
    return (found["attention_x"] / small.width, found["attention_y"] / small.height)


def source_salient_point(source: Source) -> tuple[float, float]:
    """The salient point straight from a source (for requests without stored focus)."""
    return salient_point(_upright(source, DETECT_SIZE))


def _upright(source: Source, size: int) -> pyvips.Image:
    image = to_srgb(thumbnail(source, size, size, size="down"))
    if image.hasalpha():
        image = image.flatten(background=[255] * (image.bands - 1))
    return image.copy_memory()
