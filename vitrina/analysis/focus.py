"""Focus: the faces and the salient point that ``g_face`` / ``g_auto`` crops keep.

Runs with the other analysers on the same preview, so ingest decodes once and the
stored signal is what serving reads (:meth:`vitrina.media.focus.Focus.from_dict`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy
import pyvips

from vitrina.analysis.base import check_image
from vitrina.analysis.preview import PreviewAnalyser
from vitrina.media import focus


class FocusAnalyser(PreviewAnalyser):
    name = "focus"
    version = focus.VERSION  # detection's version: raising it makes stored focus stale

    def analyse(self, images: Sequence[numpy.ndarray]) -> list[dict]:
        return [self.find(check_image(image)).to_dict() for image in images]

    @staticmethod
    def find(image: numpy.ndarray) -> focus.Focus:
        picture = pyvips.Image.new_from_array(image).copy(interpretation="srgb")
        return focus.focus_of(picture)
