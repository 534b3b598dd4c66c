"""No N+1: a page of assets with their derivatives and signals, and the same assets
asked for one by one (aliases, resolved through the request's loader), run a fixed
number of SQL statements, the same for 100 assets as for 10; on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import pyvips
from fastapi.testclient import TestClient
from sqlalchemy import event

from tests.conftest import catalog_database, make_settings, process_all
from tests.graphql.conftest import gql
from vitrina.api.app import create_app
from vitrina.testing import make_runtime

ASSETS = 100
PAGE = "{ assets(limit: LIMIT) { items { id derivatives { url width } signals { blurhash colours { hex } all { name } } } } }"


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def hundred(request, tmp_path_factory) -> Iterator[tuple[TestClient, list[str]]]:
    """100 small images of distinct colours, processed (a derivative and the signals)."""
    tmp = tmp_path_factory.mktemp("batching")
    with catalog_database(request.param, tmp) as url:
        settings = make_settings(tmp, url, derivatives={"widths": [32], "formats": ["webp"]})
        rt = make_runtime(settings)
        ids = []
        for n in range(ASSETS):
            path = tmp / f"{n}.png"
            pixel = pyvips.Image.black(48, 32, bands=3) + [n * 2, 255 - n * 2, (n * 37) % 256]
            path.write_bytes(pixel.cast("uchar").pngsave_buffer())
            ids.append(rt.ingestor.ingest_file(path).asset_id)
        process_all(rt)
        with TestClient(create_app(settings, start_workers=False, runtime=rt)) as client:
            yield client, ids


@contextmanager
def statements(client: TestClient) -> Iterator[list[str]]:
    seen: list[str] = []
    engine = client.app.state.runtime.engine

    def count(conn, cursor, statement, parameters, context, executemany) -> None:
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)


def test_a_page_of_100_assets_runs_as_many_statements_as_a_page_of_10(hundred) -> None:
    client, _ = hundred
    counts = {}
    for size in (10, ASSETS):
        with statements(client) as seen:
            items = gql(client, PAGE.replace("LIMIT", str(size)))["data"]["assets"]["items"]
        assert len(items) == size and all(a["derivatives"] and a["signals"]["blurhash"] for a in items)
        counts[size] = len(seen)
    assert counts[10] == counts[ASSETS] <= 8, counts


def test_assets_asked_one_by_one_load_together(hundred) -> None:
    client, ids = hundred
    counts = {}
    for size in (10, ASSETS):
        fields = " ".join(f'a{n}: asset(id: "{i}") {{ id derivatives {{ url }} signals {{ blurhash }} }}'
                          for n, i in enumerate(ids[:size]))
        with statements(client) as seen:
            data = gql(client, f"{{ {fields} }}")["data"]
        assert [data[f"a{n}"]["id"] for n in range(size)] == ids[:size]
        counts[size] = len(seen)
    assert counts[10] == counts[ASSETS] <= 8, counts
