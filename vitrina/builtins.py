"""The plug-ins that come with Vitrina, registered like any other."""

from __future__ import annotations

from vitrina.plugins import Registries


def register(registries: Registries) -> None:
    from vitrina.analysis import builtin_analysers
    from vitrina.kinds.image import ImageKind
    from vitrina.kinds.video import VideoKind
    from vitrina.storage.blobs import LocalStores, S3Stores

    registries.add_kind(ImageKind())
    registries.add_kind(VideoKind())
    for analyser in builtin_analysers():
        registries.analysers.add(analyser)
    registries.stores.add(LocalStores())
    registries.stores.add(S3Stores())
    from vitrina.batch.engines import builtin_engines

    for engine in builtin_engines():
        registries.engines.add(engine)
