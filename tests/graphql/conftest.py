"""A catalogue of the real photos through the real pipeline (with the model signals
the search tests write), served by the app on SQLite and PostgreSQL, and a helper that
posts a GraphQL query."""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import catalog_database, make_settings, process_all
from tests.search.searching import OTHER_PROJECT, edits, ingest_photos, write_model_signals
from vitrina.api.app import create_app
from vitrina.testing import make_runtime


def gql(client: TestClient, query: str, variables: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None, status: int = 200) -> dict[str, Any]:
    """The answer's JSON, after checking its status."""
    body: dict[str, Any] = {"query": query}
    if variables is not None:
        body["variables"] = variables
    r = client.post("/graphql", json=body, headers=headers or {})
    assert r.status_code == status, r.text
    return r.json()


def codes(answer: dict[str, Any]) -> list[str]:
    return [e["extensions"]["code"] for e in answer.get("errors", [])]


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def photos_served(request, tmp_path_factory) -> Iterator[SimpleNamespace]:
    """The photos (and a crop) in the default project, titled and tagged by their
    model; the crop again in another project. One catalogue per module: ingest and
    processing are what take the time."""
    tmp = tmp_path_factory.mktemp("graphql")
    with catalog_database(request.param, tmp) as url:
        settings = make_settings(tmp, url)
        rt = make_runtime(settings)
        with TestClient(create_app(settings, start_workers=False, runtime=rt)) as client:
            ids = ingest_photos(rt, tmp, only=("coffee.png", "chelsea.png", "text.png", "rocket.jpg"))
            write_model_signals(rt, ids)
            rt.assets.update_metadata("default", ids["chelsea.png"], {
                "title": "Chelsea on the sofa", "alt_text": "A tabby cat", "tags": ["pets"]})
            rt.projects.create(OTHER_PROJECT)
            other = rt.ingestor.ingest_file(edits(tmp)["coffee-crop.jpg"], project=OTHER_PROJECT).asset_id
            process_all(rt)
            yield SimpleNamespace(client=client, rt=rt, ids=ids, other=other)
