"""The SDK's user metadata and collection calls against a real server."""

from __future__ import annotations

import pytest

from tests.conftest import PHOTOS
from vitrina.client import Client
from vitrina.client.errors import ConflictError, NotFoundError, VitrinaAPIError


def test_update_asset_and_collections_round_trip(client: Client):
    asset = client.upload(PHOTOS / "coffee.png").asset
    edited = client.update_asset(asset.id, title="Coffee", tags=["Cup", " morning"], fields={"iso": 200})
    assert (edited.title, edited.alt_text, edited.tags, dict(edited.fields), edited.metadata_version) == (
        "Coffee", None, ("cup", "morning"), {"iso": 200}, 1)
    cleared = client.update_asset(asset.id, title=None, fields={"iso": None})
    assert (cleared.title, cleared.tags, dict(cleared.fields)) == (None, ("cup", "morning"), {})
    assert [a.id for a in client.list(tag="cup").items] == [asset.id]
    with pytest.raises(VitrinaAPIError) as refused:
        client.update_asset(asset.id, fields={"Bad Key": 1})
    assert refused.value.code == "invalid_metadata"

    picks = client.create_collection("Picks", "the best")
    with pytest.raises(ConflictError):
        client.create_collection("Picks")
    client.add_to_collection(picks.id, asset.id)
    client.add_to_collection(picks.id, asset.id)
    assert client.get_collection(picks.id).asset_count == 1
    assert [a.id for a in client.collection_assets(picks.id).items] == [asset.id]
    assert [a.id for a in client.list(collection=picks.id).items] == [asset.id]
    renamed = client.update_collection(picks.id, name="Favourites", description=None)
    assert (renamed.name, renamed.description) == ("Favourites", None)
    assert [c.name for c in client.collections().items] == ["Favourites"]
    client.remove_from_collection(picks.id, asset.id)
    assert client.collection_assets(picks.id).items == ()
    client.delete_collection(picks.id)
    with pytest.raises(NotFoundError):
        client.get_collection(picks.id)
