"""Fixtures shared by the whole suite: real photos, a catalog on SQLite and on
PostgreSQL, a runtime, an API client."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PHOTOS = ROOT / "data" / "photos"
VIDEO = ROOT / "data" / "video"
HOSTILE = ROOT / "tests" / "data" / "hostile"


@pytest.fixture(scope="session")
def photos() -> Path:
    return PHOTOS


def _pg_url() -> str | None:
    url = os.environ.get("VITRINA_TEST_PG_URL")
    if not url:
        if os.environ.get("VITRINA_REQUIRE_PG"):
            pytest.fail("VITRINA_REQUIRE_PG is set but VITRINA_TEST_PG_URL is not")
        pytest.skip("PostgreSQL tests need VITRINA_TEST_PG_URL (CI sets it)")
    return url


@contextmanager
def catalog_database(kind: str, tmp: Path) -> Iterator[str]:
    """A catalog URL: a SQLite file in ``tmp``, or a PostgreSQL schema of its own,
    dropped afterwards."""
    if kind == "sqlite":
        yield f"sqlite:///{tmp / 'catalog.db'}"
        return
    import psycopg

    base = _pg_url()
    schema = f"t_{secrets.token_hex(6)}"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    try:
        yield f"{base}{'&' if '?' in base else '?'}options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The same tests run on both catalogs; each PostgreSQL test gets its own schema."""
    with catalog_database(request.param, tmp_path) as url:
        yield url


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """A real S3 API server (moto) on loopback, for the whole session."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def make_settings(tmp_path: Path, database_url: str, **overrides):
    from vitrina.config import Settings

    values = {
        "dev": True,
        "data_dir": tmp_path / "data",
        "database_url": database_url,
        "server": {"inprocess_workers": 0},
        "derivatives": {"formats": ["webp", "jpeg"]},
        "pipeline": {"lease_seconds": 5.0, "retry_base_seconds": 0.0},
        # no model analysers unless a test asks: OCR and torch would slow every ingest test
        "analysis": {"models": []},
    }
    return Settings(**merged(values, overrides))


def merged(values: dict, overrides: dict) -> dict:
    """``values`` with ``overrides``; a section given as a dict is merged field by field."""
    out = dict(values)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict) and key != "plugins":
            out[key] = {**out[key], **value}
        else:
            out[key] = value
    return out


@pytest.fixture
def settings(tmp_path: Path, database_url: str):
    return make_settings(tmp_path, database_url)


@pytest.fixture
def runtime(settings):
    from vitrina.runtime import Runtime
    from vitrina.storage.catalog.db import upgrade

    rt = Runtime(settings)
    upgrade(rt.engine)
    yield rt
    rt.close()


@pytest.fixture
def client(runtime):
    from fastapi.testclient import TestClient

    from vitrina.api.app import create_app

    app = create_app(runtime.settings, start_workers=False)
    with TestClient(app) as c:
        c.runtime = app.state.runtime
        yield c


def process_all(rt) -> int:
    """Run pipeline workers in this process until nothing is claimable."""
    from vitrina.testing import process_all

    return process_all(rt)
