"""What image analysers read: one small preview, decoded once per asset."""

from __future__ import annotations

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
