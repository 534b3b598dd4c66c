"""A labelled set of duplicate pairs built from the real photos in ``data/photos``.

Each photo gets edits a catalogue treats as "the same picture" (re-encodes, resizes,
modest crops, colour shifts, a small overlay, a slight rotation) and edits it treats
as a different picture (a mirror). Pairs of different photos, and pairs of
non-overlapping regions cut from the same large photo (which look alike: same
texture, same palette), are the negatives.

Every image goes through the pipeline's own path to the analysers' input: the 320 px
JPEG rendition the derivatives step makes, then the preview decode of it. The bench
and the tests import :func:`labelled_set`; it is built once per process.
"""

from __future__ import annotations

import functools
import hashlib
import math
import struct
import zlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path

import numpy
import pyvips

from vitrina.analysis.phash_regions import RegionPhashAnalyser
from vitrina.media.image import make_derivatives, rendition_preview
from vitrina.media.pixels import pixel_digest
from vitrina.search.duplicates import (
    EXACT,
    NEAR,
    NEAR_DISTANCE,
    TIERS,
    Fingerprint,
    fingerprint,
    tier_of,
)

PHOTOS = Path(__file__).resolve().parents[2] / "data" / "photos"
#: the rendition the image kind's analysers read (the smallest of the default widths)
PREVIEW_WIDTH, RENDITION_QUALITY = 320, 80

DIFFERENT = "different"

#: an edit returns the file's bytes when its encoding is the point, else the edited image
Edit = Callable[[pyvips.Image], "bytes | pyvips.Image"]


def _png(im: pyvips.Image) -> bytes:
    """Lossless and quick: the file of an edit that is not about its encoding."""
    return im.pngsave_buffer(compression=0)


def _jpeg(q: int) -> Edit:
    return lambda im: im.jpegsave_buffer(Q=q)


def _resize(scale: float) -> Edit:
    return lambda im: im.resize(scale, kernel="lanczos3")


def _centre_crop(fraction: float) -> Edit:
    def edit(im: pyvips.Image) -> pyvips.Image:
        w, h = round(im.width * fraction), round(im.height * fraction)
        return im.crop((im.width - w) // 2, (im.height - h) // 2, w, h)
    return edit


def _corner_crop(fraction: float, corner: str) -> Edit:
    """``fraction`` of each side, anchored at a corner ("tl", "br"): off-centre."""
    def edit(im: pyvips.Image) -> pyvips.Image:
        w, h = round(im.width * fraction), round(im.height * fraction)
        x, y = (0, 0) if corner == "tl" else (im.width - w, im.height - h)
        return im.crop(x, y, w, h)
    return edit


def _brightness(factor: float) -> Edit:
    return lambda im: (im * factor).cast("uchar")


def _colour(hue_degrees: float, chroma: float) -> Edit:
    """Rotate hue and scale chroma in LCh (a grey photo stays grey)."""
    def edit(im: pyvips.Image) -> pyvips.Image:
        if im.bands < 3:
            return im
        lch = im.colourspace("lch")
        shifted = lch * [1, chroma, 1] + [0, 0, hue_degrees]
        return shifted.colourspace("srgb").cast("uchar")
    return edit


def _overlay(width: float, height: float) -> Edit:
    """An opaque white box with dark text in the bottom-right corner, ``width`` x
    ``height`` of the photo's sides (a watermark, a caption)."""
    def edit(im: pyvips.Image) -> pyvips.Image:
        w, h = round(im.width * width), round(im.height * height)
        text = pyvips.Image.text("© Vitrina", width=max(1, w - 8), height=max(1, h - 8), dpi=300)
        ink = (255 - text).cast("uchar")
        box = (pyvips.Image.black(w, h) + 255).cast("uchar").insert(ink, 4, 4)
        if im.bands > 1:
            box = box.bandjoin([box] * (im.bands - 1))
        return im.insert(box, im.width - w, im.height - h)
    return edit


def _rotate(degrees: float) -> Edit:
    """Rotate, then cut the largest upright centre box so no background corners show."""
    def edit(im: pyvips.Image) -> pyvips.Image:
        turned = im.rotate(degrees)
        r = math.radians(abs(degrees))
        w = (im.width * math.cos(r) - im.height * math.sin(r))
        h = (im.height * math.cos(r) - im.width * math.sin(r))
        w, h = int(w) - 2, int(h) - 2
        return turned.crop((turned.width - w) // 2, (turned.height - h) // 2, w, h)
    return edit


#: edits labelled as the same picture. One that keeps every decoded pixel (a lossless
#: re-save; a colour edit of a grey photo) is labelled exact, any other near.
SAME_PICTURE: dict[str, Edit] = {
    "png": lambda im: im.pngsave_buffer(compression=1),
    "tiff": lambda im: im.tiffsave_buffer(),
    "jpeg q95": _jpeg(95),
    "jpeg q75": _jpeg(75),
    "jpeg q50": _jpeg(50),
    "webp q80": lambda im: im.webpsave_buffer(Q=80),
    "resize 0.5x": _resize(0.5),
    "resize 0.25x": _resize(0.25),
    "upscale 2x": _resize(2.0),
    "crop 90%": _centre_crop(0.9),
    "crop 80%": _centre_crop(0.8),
    "crop 85% off-centre": _corner_crop(0.85, "tl"),
    "crop 85%": _centre_crop(0.85),
    "crop 88% off-centre": _corner_crop(0.88, "br"),
    "brightness +10%": _brightness(1.1),
    "brightness -10%": _brightness(0.9),
    "saturation +30%": _colour(0, 1.3),
    "hue +10°": _colour(10, 1.0),
    "logo 3%": _overlay(0.2, 0.15),
    "text box 8%": _overlay(0.4, 0.2),
    "rotate 2°": _rotate(2),
}
#: edits labelled as a different picture: a mirrored photo is a new asset for a catalogue
#: (text reads backwards, the composition faces the other way)
OTHER_PICTURE: dict[str, Edit] = {
    "mirror": lambda im: im.fliphor(),
}
#: photos large enough to cut four non-overlapping quarter regions from
REGION_SOURCES = ("retina.jpg", "hubble_deep_field.jpg")


@dataclass(frozen=True)
class Sample:
    """One image of the set: which picture it shows and how it was made."""

    key: str  # "coffee.png/jpeg q75"
    picture: str  # the photo (or region) it shows
    edit: str  # "original" for the photo itself
    width: int
    height: int
    sha256: str
    preview: numpy.ndarray  # what the analysers read, made as the pipeline makes it
    full_pixels: str  # digest of the full-size decode (vitrina.media.pixels)


@dataclass(frozen=True)
class Pair:
    a: Sample
    b: Sample
    label: str  # exact | near | different
    edit: str  # the edit that made b from a ("different photos", "regions", ...)


@dataclass(frozen=True)
class LabelledSet:
    samples: tuple[Sample, ...]
    pairs: tuple[Pair, ...]


def with_comment(data: bytes) -> bytes:
    """The same file with a comment added (a JPEG COM segment, a PNG tEXt chunk): other
    bytes, the very same pixels, as a tagging tool's save makes."""
    text = b"Comment\x00catalogued"
    if data[:2] == b"\xff\xd8":
        return data[:2] + b"\xff\xfe" + struct.pack(">H", len(text) + 2) + text + data[2:]
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        chunk = struct.pack(">I", len(text)) + b"tEXt" + text + struct.pack(">I", zlib.crc32(b"tEXt" + text))
        return data[:33] + chunk + data[33:]  # after the signature and the IHDR chunk
    raise ValueError("only JPEG and PNG photos get a comment")


def pipeline_preview(data: bytes) -> numpy.ndarray:
    """The analysers' input for an uploaded file: its smallest JPEG rendition, decoded."""
    (rendition,) = make_derivatives(data, [PREVIEW_WIDTH], ["jpeg"], quality=RENDITION_QUALITY)
    return rendition_preview(rendition.data)


def _sample(picture: str, edit: str, made: bytes | pyvips.Image) -> Sample:
    data = made if isinstance(made, bytes) else _png(made)
    image = pyvips.Image.new_from_buffer(data, "")
    return Sample(f"{picture}/{edit}", picture, edit, image.width, image.height,
                  hashlib.sha256(data).hexdigest(), pipeline_preview(data), pixel_digest(data))


def _regions(path: Path) -> list[tuple[str, pyvips.Image]]:
    """The four quarters of a photo, each a picture of its own."""
    im = pyvips.Image.new_from_file(str(path))
    w, h = im.width // 2, im.height // 2
    return [(f"{path.name}[{x // w},{y // h}]", im.crop(x, y, w, h))
            for y in (0, h) for x in (0, w)]


@functools.cache
def labelled_set(photos: Path = PHOTOS) -> LabelledSet:
    """Every photo with its edits; positive pairs are (original, edit), negatives are
    originals and edits of different photos, mirrors, and regions of one photo."""
    samples: list[Sample] = []
    pairs: list[Pair] = []
    with ThreadPoolExecutor(2) as pool:  # libvips and OpenCV work outside the GIL
        for photo_samples, photo_pairs in pool.map(_edits_of, sorted(photos.iterdir())):
            samples += photo_samples
            pairs += photo_pairs
    regions = [_sample(name, "region", data) for p in REGION_SOURCES for name, data in _regions(photos / p)]
    pairs += [Pair(a, b, DIFFERENT, "regions of one photo")
              for a, b in combinations(regions, 2) if a.picture.split("[")[0] == b.picture.split("[")[0]]
    samples += regions
    pairs += [Pair(a, b, DIFFERENT, "different photos")
              for a, b in combinations(samples, 2) if _photo(a) != _photo(b)]
    return LabelledSet(tuple(samples), tuple(pairs))


def _edits_of(path: Path) -> tuple[list[Sample], list[Pair]]:
    """A photo and its edits, and the (original, edit) pairs with their labels."""
    original_bytes = path.read_bytes()
    image = pyvips.Image.new_from_buffer(original_bytes, "").copy_memory()  # decoded once for all edits
    original = _sample(path.name, "original", original_bytes)
    pixels = _pixels(image)
    commented = _sample(path.name, "comment added", with_comment(original_bytes))
    samples, pairs = [original, commented], [Pair(original, commented, EXACT, "comment added")]
    for name, edit in SAME_PICTURE.items():
        made = edit(image)
        if isinstance(made, pyvips.Image):
            made = made.copy_memory()  # computed once, for its file and its pixels
        edited = _sample(path.name, name, made)
        samples.append(edited)
        same = (edited.width, edited.height) == (original.width, original.height) and _pixels(
            made if isinstance(made, pyvips.Image) else pyvips.Image.new_from_buffer(made, "")) == pixels
        pairs.append(Pair(original, edited, EXACT if same else NEAR, name))
    for name, edit in OTHER_PICTURE.items():
        pairs.append(Pair(original, _sample(f"{path.name} {name}", name, edit(image)), DIFFERENT, name))
    return samples, pairs


def _pixels(image: pyvips.Image) -> tuple[int, int, int, bytes]:
    return image.width, image.height, image.bands, image.cast("uchar").write_to_memory()


def _photo(sample: Sample) -> str:
    return sample.picture.split("[")[0]


# --- calibration ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Figures:
    """Precision and recall of one tier (exact; near counts any duplicate: tiers nest)."""

    tier: str
    true_positives: int
    predicted: int
    labelled: int

    @property
    def precision(self) -> float:
        return self.true_positives / self.predicted if self.predicted else 1.0

    @property
    def recall(self) -> float:
        return self.true_positives / self.labelled if self.labelled else 1.0


@dataclass(frozen=True)
class Calibration:
    near_distance: int
    tiers: dict[str, Figures]
    #: edit -> (pairs found at the tier it is labelled, pairs); negatives: (pairs kept apart, pairs)
    per_edit: dict[str, tuple[int, int]]

    def table(self) -> str:
        lines = [f"near distance <= {self.near_distance}", "tier   precision  recall  (tp / predicted / labelled)"]
        for f in self.tiers.values():
            lines.append(f"{f.tier:6} {f.precision:9.3f} {f.recall:7.3f}  "
                         f"({f.true_positives} / {f.predicted} / {f.labelled})")
        lines.append("edit                       right / pairs")
        lines += [f"{edit:26} {ok:5} / {n}" for edit, (ok, n) in self.per_edit.items()]
        return "\n".join(lines)


def fingerprints(labelled: LabelledSet) -> dict[str, Fingerprint]:
    """Each sample's fingerprint, made by the analyser the pipeline runs."""
    analyser = RegionPhashAnalyser()
    samples = {s.key: s for p in labelled.pairs for s in (p.a, p.b)}
    values = analyser.analyse([s.preview for s in samples.values()])
    return {s.key: fingerprint(s.key, s.sha256, s.width, s.height, v) for s, v in zip(samples.values(), values, strict=True)}


@functools.cache
def labelled_fingerprints() -> dict[str, Fingerprint]:
    """:func:`fingerprints` of :func:`labelled_set`, made once per process."""
    return fingerprints(labelled_set())


def calibrate(labelled: LabelledSet, near_distance: int = NEAR_DISTANCE,
              prints: dict[str, Fingerprint] | None = None) -> Calibration:
    """Figures per tier and per edit at ``near_distance`` (pass ``prints`` to reuse them)."""
    prints = fingerprints(labelled) if prints is None else prints
    full_pixels = {s.key: s.full_pixels for p in labelled.pairs for s in (p.a, p.b)}.get
    counts = {t: [0, 0, 0] for t in TIERS}  # true positives, predicted, labelled
    per_edit: dict[str, list[int]] = {}
    for pair in labelled.pairs:
        found = tier_of(prints[pair.a.key], prints[pair.b.key], near_distance, full_pixels)
        predicted = None if found is None else found.tier
        for tier in TIERS:
            nested = TIERS[: TIERS.index(tier) + 1]
            said, truth = predicted in nested, pair.label in nested
            counts[tier][0] += said and truth
            counts[tier][1] += said
            counts[tier][2] += truth
        right = predicted is None if pair.label == DIFFERENT else predicted == pair.label
        if pair.label == EXACT and pair.edit not in ("png", "tiff", "comment added"):
            right = predicted is not None  # a no-op colour edit of a grey photo: any tier will do
        tally = per_edit.setdefault(pair.edit, [0, 0])
        tally[0] += right
        tally[1] += 1
    return Calibration(near_distance, {t: Figures(t, *counts[t]) for t in TIERS},
                       {e: (ok, n) for e, (ok, n) in per_edit.items()})


def main() -> None:
    """Print the calibration table at the chosen threshold and a sweep around it."""
    labelled = labelled_set()
    prints = fingerprints(labelled)
    print(calibrate(labelled, prints=prints).table())
    print("\nsweep: near distance, near precision, near recall")
    for d in range(4, 21, 2):
        near = calibrate(labelled, d, prints).tiers[NEAR]
        print(f"{d:3} {near.precision:.3f} {near.recall:.3f}")


if __name__ == "__main__":
    main()
