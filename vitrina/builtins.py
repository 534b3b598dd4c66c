"""The plug-ins that come with Vitrina, registered like any other."""

from __future__ import annotations

from typing import TYPE_CHECKING

from vitrina.plugins import Registries

if TYPE_CHECKING:
    from vitrina.config import Settings


def register(registries: Registries, settings: Settings | None = None) -> None:
    """Register the built-ins; the model analysers that ``settings.analysis`` switches
    on come with settings only (none without: nothing then loads a model)."""
    from vitrina.analysis import builtin_analysers
    from vitrina.kinds.image import ImageKind
    from vitrina.kinds.video import VideoKind
    from vitrina.storage.blobs import LocalStores, S3Stores

    registries.add_kind(ImageKind())
    registries.add_kind(VideoKind())
    for analyser in builtin_analysers():
        registries.analysers.add(analyser)
    if settings is not None:
        from vitrina.analysis.models import model_analysers

        for analyser in model_analysers(settings.analysis):
            registries.analysers.add(analyser)
    registries.stores.add(LocalStores())
    registries.stores.add(S3Stores())
    from vitrina.batch.engines import builtin_engines

    for engine in builtin_engines():
        registries.engines.add(engine)
    from vitrina.recs.models import builtin_recommenders

    for recommender in builtin_recommenders():
        registries.recommenders.add(recommender)
    from vitrina.llm import builtin_text_generators

    for generator in builtin_text_generators():
        registries.text_generators.add(generator)
