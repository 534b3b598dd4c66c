"""The SDK against a production-mode server: API keys and scopes."""

from __future__ import annotations

import pytest

from tests.client.conftest import PHOTOS, Running
from vitrina.access.keys import create_key
from vitrina.client import Client, ForbiddenError, UnauthorizedError, VitrinaAPIError


def test_no_key_is_refused_and_a_real_key_works(prod_server: Running):
    with Client(prod_server.url) as anonymous:
        with pytest.raises(VitrinaAPIError) as err:
            anonymous.list()
        assert isinstance(err.value, UnauthorizedError)
        assert (err.value.status, err.value.code) == (401, "unauthorized")
        with pytest.raises(UnauthorizedError):
            anonymous.upload(PHOTOS / "rocket.jpg")
        assert anonymous.health().ok  # operations endpoints need no key

    with Client(prod_server.url, api_key="vk_0000_forged") as forged, pytest.raises(UnauthorizedError):
        forged.list()

    sessions = prod_server.runtime.sessions
    writer_key = create_key(sessions, "sdk-writer", ["write"])
    reader_key = create_key(sessions, "sdk-reader", ["read"])
    with Client(prod_server.url, api_key=writer_key) as writer:
        result = writer.upload(PHOTOS / "rocket.jpg")
        assert result.created and writer.get(result.asset.id).sha256 == result.asset.sha256
    with Client(prod_server.url, api_key=reader_key) as reader:
        assert [a.id for a in reader.iter_assets()] == [result.asset.id]
        assert reader.download_original(result.asset.id, end=4) == (PHOTOS / "rocket.jpg").read_bytes()[:4]
        with pytest.raises(ForbiddenError) as err:
            reader.delete(result.asset.id)
        assert (err.value.status, err.value.code) == (403, "forbidden")
        assert reader.get(result.asset.id).id == result.asset.id  # the refused delete changed nothing
