"""What image analysers read: one small preview, decoded once per asset."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy

from vitrina.analysis.base import AnalysisInput

if TYPE_CHECKING:
    from vitrina.pipeline.steps import StepContext

IMAGE = "image"


def load_preview(ctx: StepContext) -> numpy.ndarray:
    """HxWx3 uint8 sRGB, longest side 256 px, from the smallest derivative (already
    upright sRGB and cheap to decode), or from the original when there is none."""
    from vitrina.kinds.image.steps import limits_of
    from vitrina.media import image as image_ops

    smallest = min(ctx.asset.derivatives, key=lambda d: (d.width, d.format != "jpeg"), default=None)
    if smallest is None:
        with ctx.original_path() as path:
            return image_ops.preview_array(path, limits=limits_of(ctx.settings))
    data = ctx.store.read_bytes(smallest.blob_key)
    if smallest.format == "jpeg":
        return image_ops.rendition_preview(data)
    return image_ops.preview_array(data)


# version 2: JPEG renditions decoded by OpenCV and area-averaged
PREVIEW = AnalysisInput(kind=IMAGE, name="preview", version="2", step="signals",
                        requires=("derivatives",), load=load_preview)


# --- model analysers (decision 025) ---------------------------------------------------
#: the longest side of a page: text a few pixels tall in a photo stays readable
PAGE_SIZE = 1280


@dataclass(frozen=True)
class Page:
    """An upright sRGB image (HxWx3 uint8) of at most ``PAGE_SIZE`` px, with the size of
    the original it shows, so positions found on it map back to the original's pixels."""

    image: numpy.ndarray
    width: int  # the original's, upright
    height: int

    @property
    def scale(self) -> tuple[float, float]:
        """(x, y) factors from the page's pixels to the original's."""
        h, w = self.image.shape[:2]
        return self.width / w, self.height / h


def load_page(ctx: StepContext) -> Page:
    """The largest rendition of at most ``PAGE_SIZE`` px when it is as sharp as the
    original gets at that size, else the original shrunk on load."""
    from vitrina.kinds.image.steps import limits_of
    from vitrina.media import image as image_ops

    asset = ctx.asset
    fitting = [d for d in asset.derivatives if max(d.width, d.height) <= PAGE_SIZE]
    best = max(fitting, key=lambda d: (max(d.width, d.height), d.format == "jpeg"), default=None)
    wanted = min(PAGE_SIZE, max(asset.width or 0, asset.height or 0))
    if best is not None and max(best.width, best.height) >= wanted:
        data = ctx.store.read_bytes(best.blob_key)
        image = (image_ops.rendition_preview(data, PAGE_SIZE) if best.format == "jpeg"
                 else image_ops.preview_array(data, PAGE_SIZE))
    else:
        with ctx.original_path() as path:
            image = image_ops.preview_array(path, PAGE_SIZE, limits=limits_of(ctx.settings))
    h, w = image.shape[:2]
    return Page(image, asset.width or w, asset.height or h)


#: what OCR reads: a page of up to 1280 px, in its own step so the 256 px preview's
#: cheap analysers never wait for it
PAGE = AnalysisInput(kind=IMAGE, name="page", version="1", step="ocr",
                     requires=("derivatives",), load=load_page)


@dataclass(frozen=True)
class AssetText:
    """Everything written about an asset, as one text: its title, alt text and tags
    (a person's and the models'), and the text found in the picture."""

    text: str
    metadata_version: int  # of the title, alt text and user tags read (decision 022)


#: the signals the asset's text is made of (the model tags, the OCR text): writing a new
#: value of one queues the text step again (a backfill, a re-run)
TEXT_SIGNALS = ("imagenet", "ocr")


def asset_text(ctx: StepContext) -> AssetText:
    asset = ctx.asset
    meta = asset.metadata
    signals = asset.signals
    tags, ocr = TEXT_SIGNALS
    labels = [t["label"] for t in (signals[tags].value.get("tags") or [])] if tags in signals else []
    ocr = (signals[ocr].value.get("text") or "") if ocr in signals else ""
    parts = [meta.title or "", meta.alt_text or "", ", ".join(meta.tags),
             ", ".join(dict.fromkeys(labels)), ocr]
    return AssetText("\n".join(p.strip() for p in parts if p and p.strip()), asset.metadata_version)


#: what the text embedding reads: the asset's metadata and the stored tags and OCR text,
#: after both model steps; an edit of the metadata queues this step again
TEXT_STEP = "text"
TEXT = AnalysisInput(kind=IMAGE, name="text", version="1", step=TEXT_STEP,
                     requires=("ocr", "signals"), load=asset_text)
