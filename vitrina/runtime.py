"""The objects every entry point shares, built once from settings.

The runtime owns one validated registry per kind of plug-in (media kinds, steps,
analysers, blob stores) and builds every service from them; nothing else keeps
plug-ins in module state. Boot refuses a missing, duplicate or unimportable plug-in.
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from vitrina import builtins
from vitrina.assets.repository import AssetRepository
from vitrina.assets.service import AssetService
from vitrina.config import Settings
from vitrina.pipeline.dag import Pipelines
from vitrina.pipeline.queue import Queue, QueuePolicy
from vitrina.plugins import Registries, load_plugin
from vitrina.storage.blobs import BlobStore, open_store
from vitrina.storage.catalog.db import make_engine, make_sessionmaker

if TYPE_CHECKING:
    from vitrina.delivery.service import ImageService
    from vitrina.pipeline.ingest import Ingestor
    from vitrina.projects.quotas import QuotaService
    from vitrina.projects.service import ProjectService
    from vitrina.projects.usage import UsageMeter, UsageService
    from vitrina.search.service import SearchService
    from vitrina.uploads.service import UploadService
    from vitrina.webhooks.service import WebhookService


def registries_for(settings: Settings) -> Registries:
    """The built-in plug-ins plus the modules named in ``settings.plugins``."""
    registries = Registries()
    builtins.register(registries, settings)
    for name in settings.plugins:
        load_plugin(name, registries)
    return registries


class Runtime:
    def __init__(self, settings: Settings, registries: Registries | None = None) -> None:
        self.settings = settings
        self.registries = registries if registries is not None else registries_for(settings)
        self.pipelines = Pipelines(self.registries)  # validates every kind's DAG

    @cached_property
    def engine(self) -> Engine:
        return make_engine(self.settings.sqlalchemy_url)

    @cached_property
    def sessions(self) -> sessionmaker[Session]:
        return make_sessionmaker(self.engine)

    @cached_property
    def store(self) -> BlobStore:
        return open_store(self.settings.blob_store_url, self.registries.stores)

    @cached_property
    def queue(self) -> Queue:
        s = self.settings.pipeline
        policy = QueuePolicy(s.lease_seconds, s.max_attempts, s.retry_base_seconds)
        return Queue(self.sessions, policy, self.pipelines)

    @cached_property
    def asset_repository(self) -> AssetRepository:
        return AssetRepository(self.sessions)

    @cached_property
    def assets(self) -> AssetService:
        return AssetService(self.asset_repository, self.store)

    @cached_property
    def images(self) -> ImageService:
        """The image route's service (the miss path of /img)."""
        from vitrina.delivery.service import ImageService

        kinds = frozenset(k.name for k in self.registries.kinds if k.transformable)
        return ImageService(self.settings, self.asset_repository, self.store, kinds,
                            quotas=self.quotas, usage=self.usage_meter)

    @cached_property
    def projects(self) -> ProjectService:
        """Projects and their URL signing keys (the settings' key ids stay theirs)."""
        from vitrina.projects.service import ProjectService

        return ProjectService(self.sessions, frozenset(self.settings.signing.keys))

    @cached_property
    def quotas(self) -> QuotaService:
        """Each project's quotas: stored bytes and assets, uploads and renders per minute."""
        from vitrina.projects.quotas import QuotaService

        return QuotaService(self.sessions, self.settings.projects)

    @cached_property
    def usage_meter(self) -> UsageMeter:
        """Traffic counters of this process (renders, bytes served and downloaded), written in batches."""
        from vitrina.projects.usage import UsageMeter

        return UsageMeter(self.sessions)

    @cached_property
    def usage(self) -> UsageService:
        """Usage reports of projects."""
        from vitrina.projects.usage import UsageService

        return UsageService(self.sessions, self.usage_meter, self.quotas, self.settings.projects)

    @cached_property
    def ingestor(self) -> Ingestor:
        from vitrina.pipeline.ingest import Ingestor

        return Ingestor(self)

    @cached_property
    def uploads(self) -> UploadService:
        """Resumable (tus) uploads: their state in the catalog, their bytes in the store."""
        from vitrina.uploads.service import UploadService

        return UploadService(self)

    @cached_property
    def search(self) -> SearchService:
        """Hybrid search and search by example, with this process's vector indexes (decision 027)."""
        from vitrina.search import index_kinds
        from vitrina.search.catalogue import SearchCatalogue
        from vitrina.search.live import LiveIndexes
        from vitrina.search.service import SearchService, default_encoders
        from vitrina.search.store import IndexStore

        catalogue = SearchCatalogue(self.sessions)
        indexes = LiveIndexes(catalogue, IndexStore(self.store, index_kinds()))
        return SearchService(catalogue, self.assets, indexes, encoders=default_encoders(self.settings))

    @cached_property
    def webhooks(self) -> WebhookService:
        """Webhook subscriptions, their delivery logs, and the sending of due deliveries (decision 038)."""
        from vitrina.webhooks.service import WebhookService

        return WebhookService(self.sessions, self.settings)

    def close(self) -> None:
        if "images" in self.__dict__:
            self.images.close()
        if "usage_meter" in self.__dict__:
            self.usage_meter.close()  # before the engine goes: it writes what is left
        if "_recs_service" in self.__dict__:
            self._recs_service.close()
        if "engine" in self.__dict__:
            self.engine.dispose()
