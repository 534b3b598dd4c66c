"""A campaign's creatives over GraphQL: what REST lists, each with its rendered asset
and the item's photo through the request's loader; another project's campaign is not
found. On SQLite only: the listing is the creative service's, tested on both catalogs
in tests/creative, and rendering is what takes the time here."""

from __future__ import annotations

import pytest

from tests.conftest import catalog_database
from tests.creative.conftest import two_projects, world  # noqa: F401  (the creative tests' world)
from tests.creative.test_campaigns import campaign
from tests.graphql.conftest import codes, gql
from vitrina.creative.production import render_campaign
from vitrina.storage.catalog.projects import DEFAULT_PROJECT


@pytest.fixture
def database_url(tmp_path):
    with catalog_database("sqlite", tmp_path) as url:
        yield url


def test_a_campaigns_creatives_with_their_assets(world) -> None:  # noqa: F811
    w = world
    assert w.client.put("/v1/campaigns/spring", json=campaign(placements=["square"], templates=["hero"],
                                                                 items=["coffee"], copy={"variants": 1}),
                        headers=w.as_a).status_code == 201
    render_campaign(w.rt, DEFAULT_PROJECT, "spring", engine="local", workers=1)
    query = """{ creatives(campaign: "spring", placement: "square") { items { id itemId placement status variant
                 reasons imageUrl assetId asset { id kind width } image { id } } nextCursor } }"""
    data = gql(w.client, query, headers=w.as_a)["data"]["creatives"]
    rest = w.client.get("/v1/campaigns/spring/creatives", params={"placement": "square"}, headers=w.as_a).json()
    assert [c["id"] for c in data["items"]] == [c["id"] for c in rest["items"]] and data["items"]
    for mine, theirs in zip(data["items"], rest["items"], strict=True):
        assert (mine["status"], mine["variant"], mine["imageUrl"]) == (theirs["status"], theirs["variant"],
                                                                       theirs["image_url"])
        assert mine["image"] == {"id": w.assets["coffee.png"]}
        if theirs["asset_id"]:
            assert mine["asset"]["id"] == theirs["asset_id"] and mine["asset"]["kind"] == "image"
        else:
            assert mine["asset"] is None
    assert any(c["asset"] for c in data["items"])
    # another project's campaign is not found, as REST answers 404
    assert codes(gql(w.client, '{ creatives(campaign: "spring") { nextCursor } }', headers=w.as_b)) == ["not_found"]
    assert codes(gql(w.client, '{ creatives(campaign: "spring", placement: "moon") { nextCursor } }',
                     headers=w.as_a)) == ["unknown_placement"]
