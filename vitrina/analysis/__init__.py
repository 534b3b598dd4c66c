"""Analysers: small classes with a name, a version, an input and a batch method.

Built-ins read the image kind's preview (HxWx3 uint8 sRGB) and return one JSON-able
dict per image; the pipeline stores it with the analyser's name and version. The
runtime registers them (:func:`builtin_analysers`); nothing here is global state.
"""

from __future__ import annotations

from vitrina.analysis.base import Analyser, AnalysisInput
from vitrina.analysis.blurhash import BlurhashAnalyser
from vitrina.analysis.colors import ColorsAnalyser
from vitrina.analysis.focus import FocusAnalyser
from vitrina.analysis.phash import phash_distance
from vitrina.analysis.phash_regions import RegionPhashAnalyser
from vitrina.analysis.quality import QualityAnalyser

__all__ = ["Analyser", "AnalysisInput", "builtin_analysers", "phash_distance"]


def builtin_analysers() -> list[Analyser]:
    """The built-in analysers, in the order their results are listed."""
    return [BlurhashAnalyser(), RegionPhashAnalyser(), ColorsAnalyser(), QualityAnalyser(), FocusAnalyser()]
