"""What the /img route refuses, and with which code: forged, expired, revoked and
missing signatures, path tricks and op injection, unknown ops and requests over the
limits. Every refusal has the API's one error shape."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.api.test_images_setup import KEYS, ImageClient, Library, build_library, serve
from vitrina.api.app import create_app
from vitrina.config import load_settings
from vitrina.delivery import Signer
from vitrina.errors import ConfigError

ROCKET = "rocket.jpg"


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> Library:
    return build_library(tmp_path_factory.mktemp("images-security"), [ROCKET, "coffee.png"])


@pytest.fixture(scope="module")
def client(library: Library) -> Iterator[ImageClient]:
    with serve(library) as c:
        yield c


def _refused(client: ImageClient, path: str, status: int, code: str) -> dict:
    r = client.get(path)
    assert r.status_code == status, (path, r.text)
    assert r.headers["content-type"] == "application/json"
    body = r.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == code, body
    return body["error"]


def test_signed_url_is_served(client: ImageClient) -> None:
    r = client.get(client.url(ROCKET, "w_100"))
    assert r.status_code == 200 and r.headers["content-type"] == "image/jpeg"


def test_tampering_with_any_part_breaks_the_signature(
    client: ImageClient, library: Library
) -> None:
    good = client.url(ROCKET, "w_100")
    _, _, sig, ops, asset = good.split("/")
    other = library.ids["coffee.png"]
    flipped = sig[:-1] + ("A" if sig[-1] != "A" else "B")
    for path in (
        f"/img/{sig}/w_101/{asset}",  # ops changed
        f"/img/{sig}/{ops}/{other}",  # another asset
        f"/img/{flipped}/{ops}/{asset}",  # signature changed
        f"/img/{sig}x/{ops}/{asset}",  # signature lengthened
        f"/img/k1.{sig.split('.')[1][:20]}/{ops}/{asset}",  # truncated MAC
        f"/img/{sig}/h_100/{asset}",
    ):
        _refused(client, path, 403, "bad_signature")


def test_signature_is_checked_before_the_ops_are_parsed(client: ImageClient) -> None:
    asset = client.library.ids[ROCKET]
    _refused(client, f"/img/k1.{'A' * 43}/zz_1,w_99999/{asset}", 403, "bad_signature")


def test_expired_url_and_unknown_key(client: ImageClient, library: Library) -> None:
    asset = library.ids[ROCKET]
    past = client.signer.url(asset, "w_100", expires=int(time.time()) - 1)
    _refused(client, past, 403, "expired_url")
    future = client.signer.url(asset, "w_100", expires=int(time.time()) + 3600)
    assert client.get(future).status_code == 200
    stranger = Signer({"k9": "a-key-this-server-never-had"}).url(asset, "w_100")
    _refused(client, stranger, 403, "unknown_key")
    rotated = Signer(KEYS, "k2").url(asset, "w_100")  # the other listed key also works
    assert client.get(rotated).status_code == 200


def test_cached_answers_still_honour_expiry_and_revoked_keys(
    client: ImageClient, library: Library
) -> None:
    asset = library.ids[ROCKET]
    service = client.service
    soon = int(time.time()) + 3600
    expiring = client.signer.url(asset, "w_90", expires=soon)
    by_k2 = Signer(KEYS, "k2").url(asset, "w_91")
    assert client.get(expiring).status_code == client.get(by_k2).status_code == 200
    hits = service.stats.memory_hits
    assert client.get(expiring).status_code == 200 and service.stats.memory_hits == hits + 1
    real_clock = service.clock
    service.clock = lambda: soon + 1.0  # the memory cache holds it, the URL has expired
    try:
        _refused(client, expiring, 403, "expired_url")
    finally:
        service.clock = real_clock
    service.use_signer(Signer({"k1": KEYS["k1"]}), {"k1": KEYS["k1"]})  # k2 is revoked
    try:
        _refused(client, by_k2, 403, "unknown_key")
    finally:
        service.use_signer(Signer(KEYS, "k1"), KEYS)


def test_unsigned_urls_only_in_development_mode(client: ImageClient, library: Library) -> None:
    asset = library.ids[ROCKET]
    _refused(client, f"/img/_/w_100/{asset}", 403, "signature_required")
    with serve(library, dev=True, signing={"keys": {}, "key_id": ""}) as dev:
        r = dev.get(f"/img/_/w_100/{asset}")
        assert r.status_code == 200 and r.headers["content-type"] == "image/jpeg"
        _refused(dev, f"/img/_/zz_1/{asset}", 400, "invalid_op")


def test_raw_dot_segments_are_refused(client: ImageClient, library: Library) -> None:
    """Clients drop ``/../`` before sending; a raw request can still carry it."""
    _, _, sig, ops, asset = client.url(ROCKET, "w_100").split("/")
    for raw in (f"/img/{sig}/{ops}/../{asset}", f"/img/{sig}/../../{asset}"):
        status, body = asyncio.run(_raw_get(client.app, raw.encode()))
        assert (status, json.loads(body)["error"]["code"]) == (400, "invalid_path"), raw


async def _raw_get(app: Any, raw_path: bytes) -> tuple[int, bytes]:
    sent: list[dict] = []

    async def receive() -> dict:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "GET", "path": raw_path.decode(), "raw_path": raw_path,
             "query_string": b"", "headers": [], "root_path": ""}  # fmt: skip
    await app(scope, receive, send)
    return sent[0]["status"], b"".join(m.get("body", b"") for m in sent[1:])


@pytest.mark.parametrize(
    "template, status, code",
    [
        ("/img/{sig}/{ops}/extra/{asset}", 404, "not_found"),  # an extra segment
        ("/img/{sig}/{ops}/{asset}/", 404, "not_found"),
        ("/img/{sig}/{ops}../{asset}", 400, "invalid_path"),
        ("/img/{sig}/{ops}%2F..%2F/{asset}", 400, "invalid_path"),  # encoded slashes
        ("/img/{sig}/{ops}%2Cw_5000/{asset}", 400, "invalid_path"),  # an encoded comma
        ("/img/{sig}/{ops}/{asset}?w_2000", 400, "invalid_path"),  # ops in a query string
        ("/img/{sig}/{ops}/{asset}?v=2", 400, "invalid_path"),
        ("/img/{sig}//{ops}/{asset}", 400, "invalid_path"),
        ("/img/{sig}/{ops}/{asset}.jpg", 404, "not_found"),
        ("/img/{sig}/{ops}", 404, "not_found"),
    ],
)
def test_path_tricks_and_op_injection(
    client: ImageClient, library: Library, template: str, status: int, code: str
) -> None:
    asset = library.ids[ROCKET]
    _, _, sig, ops, _ = client.url(ROCKET, "w_100").split("/")
    _refused(client, template.format(sig=sig, ops=ops, asset=asset), status, code)


@pytest.mark.parametrize(
    "ops, code, op",
    [
        ("zz_1", "invalid_op", "zz"),
        ("w_100,w_200", "invalid_op", "w"),
        ("c_stretch", "invalid_op", "c"),
        ("t_nosuch", "invalid_op", "t"),
        ("w_9000", "op_out_of_range", "w"),
        ("w_100,dpr_5", "op_out_of_range", "dpr"),
        ("w_100,e_blur:60,dpr_2", "op_out_of_range", "e"),  # 120 device pixels
    ],
)
def test_bad_ops_signed_correctly_are_named(
    client: ImageClient, library: Library, ops: str, code: str, op: str
) -> None:
    asset = library.ids[ROCKET]
    signature = client.signer.signature(f"{ops}/{asset}")  # Signer.url would refuse to make it
    error = _refused(client, f"/img/{signature}/{ops}/{asset}", 400, code)
    assert error["details"]["op"] == op


def test_overlays_are_resolved_and_counted(client: ImageClient, library: Library) -> None:
    coffee = library.ids["coffee.png"]
    missing = "0" * 32
    error = _refused(client, client.url(ROCKET, f"w_200,l_{missing}"), 404, "not_found")
    assert error["details"] == {"op": "l", "asset_id": missing}
    asset = library.ids[ROCKET]
    five = ",".join(["w_200"] + [f"l_{coffee}:w_10:x_{i}" for i in range(5)])
    signature = client.signer.signature(f"{five}/{asset}")
    error = _refused(client, f"/img/{signature}/{five}/{asset}", 400, "op_out_of_range")
    assert error["details"]["op"] == "l"


def test_unknown_asset_and_other_methods(client: ImageClient) -> None:
    _refused(client, client.signer.url("f" * 32, "w_100"), 404, "not_found")
    r = client.post(client.url(ROCKET, "w_100"))
    assert r.status_code == 405 and r.json()["error"]["code"] == "method_not_allowed"
    assert r.headers["allow"] == "GET, HEAD"


def test_bad_delivery_settings_refuse_to_start(library: Library, tmp_path) -> None:
    with pytest.raises(ConfigError, match="VITRINA_DELIVERY__PRESETS.*zz"):
        load_settings(dev=True, data_dir=tmp_path, delivery={"presets": {"card": "w_400,zz_1"}})
    with pytest.raises(ConfigError, match="VITRINA_DELIVERY__PRESETS"):
        load_settings(dev=True, data_dir=tmp_path, delivery={"presets": {"Bad Name": "w_400"}})
    with pytest.raises(ConfigError, match="signing key id"):
        create_app(library.settings(signing={"keys": {"k 1": "a-long-random-signing-secret"},
                                             "key_id": ""}), start_workers=False)  # fmt: skip
