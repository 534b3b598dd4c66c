"""A real Vitrina server (uvicorn in a thread) over a catalog and a blob store that
outlive it, so that a test can stop it and start a new one over the same state."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import make_settings
from vitrina.api.app import create_app
from vitrina.runtime import Runtime
from vitrina.storage.catalog.db import upgrade
from vitrina.testing import running_server

SIGNING_KEYS = {"k1": "a-long-random-signing-secret"}


@dataclass(frozen=True)
class Running:
    url: str
    runtime: Runtime

    @property
    def uploads(self) -> str:
        return f"{self.url}/v1/uploads"


@contextmanager
def serve(tmp_path: Path, database_url: str, **overrides: Any) -> Iterator[Running]:
    settings = make_settings(tmp_path, database_url, **overrides)
    schema = Runtime(settings)
    upgrade(schema.engine)
    schema.close()
    app = create_app(settings, start_workers=False)
    with running_server(app) as url:
        yield Running(url, app.state.runtime)


@pytest.fixture
def start(tmp_path: Path, database_url: str) -> Callable[..., AbstractContextManager[Running]]:
    """Start a server over this test's catalog and store (again after a stop)."""
    return lambda **overrides: serve(tmp_path, database_url, **overrides)


@pytest.fixture
def server(start) -> Iterator[Running]:
    """Development mode: no API key needed."""
    with start() as running:
        yield running
