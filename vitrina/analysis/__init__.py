"""Image analysers: small classes with a name, a version and a batch method.

Built-ins are registered on import, in a stable order. Each takes HxWx3 uint8
sRGB previews (:func:`vitrina.media.image.preview_array`) and returns one
JSON-able dict per image; callers store it with the analyser's name and version.
"""

from __future__ import annotations

from vitrina.analysis.base import Analyser, Registry, UnknownAnalyser
from vitrina.analysis.blurhash import BlurhashAnalyser
from vitrina.analysis.colors import ColorsAnalyser
from vitrina.analysis.focus import FocusAnalyser
from vitrina.analysis.phash import PhashAnalyser, phash_distance
from vitrina.analysis.quality import QualityAnalyser

__all__ = [
    "Analyser",
    "UnknownAnalyser",
    "all_analysers",
    "get",
    "phash_distance",
    "register",
]

_registry = Registry()


def register(analyser: Analyser) -> None:
    """Add an analyser; a second one with the same name is refused (ValueError)."""
    _registry.register(analyser)


def get(name: str) -> Analyser:
    """The analyser called ``name``; :class:`UnknownAnalyser` (a KeyError) names the known ones."""
    return _registry.get(name)


def all_analysers() -> list[Analyser]:
    """Every registered analyser, built-ins first, in registration order."""
    return _registry.all()


for _builtin in (
    BlurhashAnalyser(), PhashAnalyser(), ColorsAnalyser(), QualityAnalyser(), FocusAnalyser()
):
    register(_builtin)
del _builtin
