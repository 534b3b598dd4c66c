"""A real Vitrina server (uvicorn in a thread, SQLite catalog, one pipeline worker) per test."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import make_settings
from vitrina.api.app import create_app
from vitrina.client import Client
from vitrina.runtime import Runtime
from vitrina.storage.catalog.db import upgrade
from vitrina.testing import running_server

PHOTOS = Path(__file__).resolve().parents[2] / "data" / "photos"
SIGNING_KEYS = {"k1": "a-long-random-signing-secret"}


@dataclass(frozen=True)
class Running:
    url: str
    runtime: Runtime


@contextmanager
def serve(tmp_path: Path, **overrides: Any) -> Iterator[Running]:
    database_url = f"sqlite:///{tmp_path / 'catalog.db'}"
    settings = make_settings(tmp_path, database_url, server={"inprocess_workers": 1}, **overrides)
    schema = Runtime(settings)
    upgrade(schema.engine)
    schema.close()
    app = create_app(settings, start_workers=True)
    with running_server(app) as url:
        yield Running(url, app.state.runtime)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Running]:
    """Development mode: no API key needed."""
    with serve(tmp_path) as running:
        yield running


@pytest.fixture
def prod_server(tmp_path: Path) -> Iterator[Running]:
    """Production mode: every /v1 call needs an API key."""
    with serve(tmp_path, dev=False, signing={"keys": SIGNING_KEYS}) as running:
        yield running


@pytest.fixture
def client(server: Running) -> Iterator[Client]:
    with Client(server.url, timeout=10.0) as c:
        yield c
