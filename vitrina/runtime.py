"""The objects every entry point shares, built once from settings."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from functools import cached_property

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from vitrina.config import Settings
from vitrina.errors import ConfigError
from vitrina.pipeline import steps as step_registry
from vitrina.pipeline.queue import Queue, QueuePolicy
from vitrina.storage.blobs import BlobStore, open_store
from vitrina.storage.catalog.db import make_engine, make_sessionmaker


def load_plugins(modules: list[str]) -> None:
    """Import plug-in modules (they register steps); refuse to boot on a broken one."""
    import vitrina.pipeline.image_steps  # noqa: F401  built-in steps

    for name in modules:
        try:
            importlib.import_module(name)
        except ImportError as exc:
            raise ConfigError(f"plugins: cannot import {name!r}: {exc}") from exc
    step_registry.validate_registry()


@dataclass
class Runtime:
    settings: Settings

    def __post_init__(self) -> None:
        load_plugins(self.settings.plugins)

    @cached_property
    def engine(self) -> Engine:
        return make_engine(self.settings.sqlalchemy_url)

    @cached_property
    def sessions(self) -> sessionmaker[Session]:
        return make_sessionmaker(self.engine)

    @cached_property
    def store(self) -> BlobStore:
        return open_store(self.settings.blob_store_url)

    @cached_property
    def queue(self) -> Queue:
        s = self.settings
        return Queue(self.sessions, QueuePolicy(s.lease_seconds, s.max_attempts, s.retry_base_seconds))

    def close(self) -> None:
        if "engine" in self.__dict__:
            self.engine.dispose()
