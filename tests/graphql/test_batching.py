"""No N+1: a page of assets with their derivatives and signals, the same assets asked
for one by one (aliases, resolved through the request's loader), and collections with
their newest assets run a fixed number of SQL statements, the same for 100 assets as
for 10 and for 12 collections as for 3; on SQLite and PostgreSQL."""

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
from vitrina.collections.service import CollectionService
from vitrina.testing import make_runtime

ASSETS = 100
COLLECTIONS = 12
PAGE = "{ assets(limit: LIMIT) { items { id derivatives { url width } signals { blurhash colours { hex } all { name } } } } }"


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def hundred(request, tmp_path_factory) -> Iterator[tuple[TestClient, list[str]]]:
    """100 small images of distinct colours, processed (a derivative and the signals),
    and 12 collections: the n-th holds 2n assets (the first none), overlapping."""
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
        collections = CollectionService.of(rt)
        for n in range(COLLECTIONS):
            made = collections.create("default", f"c{n}")
            for asset_id in ids[n * 5:n * 7]:
                collections.add("default", made.id, asset_id)
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


def test_collections_with_their_newest_assets_load_together(hundred) -> None:
    client, _ = hundred
    query = "{ collections(limit: LIMIT) { items { id assets(limit: 3) { items { id signals { blurhash } } " \
            "nextCursor } } } }"
    counts = {}
    for size in (3, COLLECTIONS):
        with statements(client) as seen:
            listed = gql(client, query.replace("LIMIT", str(size)))["data"]["collections"]["items"]
        counts[size] = len(seen)
        assert len(listed) == size
        for collection in listed:  # each page as REST pages the collection
            rest = client.get(f"/v1/collections/{collection['id']}/assets", params={"limit": 3}).json()
            assert [a["id"] for a in collection["assets"]["items"]] == [a["id"] for a in rest["items"]]
            assert collection["assets"]["nextCursor"] == rest["next_cursor"]
    assert counts[3] == counts[COLLECTIONS] <= 10, counts
    pages = [c["assets"] for c in listed]
    assert {len(p["items"]) for p in pages} == {0, 2, 3} and any(p["nextCursor"] for p in pages)
    # the next page, by cursor, continues where the first page stopped
    fullest = next(c for c in listed if c["assets"]["nextCursor"])
    query = "query($c: ID!, $after: String) { collection(id: $c) { assets(limit: 3, cursor: $after) " \
            "{ items { id } } } }"
    second = gql(client, query, {"c": fullest["id"], "after": fullest["assets"]["nextCursor"]})
    second = second["data"]["collection"]["assets"]["items"]
    rest = client.get(f"/v1/collections/{fullest['id']}/assets",
                      params={"limit": 3, "cursor": fullest["assets"]["nextCursor"]}).json()
    assert [a["id"] for a in second] == [a["id"] for a in rest["items"]] and second


def test_the_service_gives_each_collections_first_page_as_its_listing(hundred) -> None:
    client, _ = hundred
    rt = client.app.state.runtime
    ids = [c.id for c in CollectionService.of(rt).list("default", limit=COLLECTIONS).items]
    pages = rt.assets.first_pages("default", ids, limit=4)
    assert list(pages) == ids
    for collection in ids:
        alone = rt.assets.list("default", collection=collection, limit=4)
        assert ([a.id for a in pages[collection].items], pages[collection].next_cursor) == (
            [a.id for a in alone.items], alone.next_cursor)
    assert rt.assets.first_pages("elsewhere", ids, limit=4) == {i: pages[i].__class__((), None) for i in ids}
    assert rt.assets.first_pages("default", [], limit=4) == {}
