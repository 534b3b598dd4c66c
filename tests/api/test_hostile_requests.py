"""Hostile requests: oversized and unauthenticated bodies, absurd numbers, deep JSON,
text no catalog can store. Each gets a 4xx with a stable code, changes nothing, and
never a 5xx."""

from __future__ import annotations

import asyncio
import json
import time

import pytest
from fastapi.testclient import TestClient

from tests.api.test_experiments_bad_input import GOOD, PLAN, footprint
from tests.conftest import PHOTOS, make_settings, process_all
from vitrina.access.keys import create_key
from vitrina.api.app import create_app
from vitrina.api.limits import JSON_BODY_LIMIT, LOG_BODY_LIMIT, MAX_JSON_DEPTH
from vitrina.experiments_service import ExperimentService
from vitrina.pipeline.ingest import safe_filename
from vitrina.runtime import Runtime
from vitrina.storage.catalog.db import upgrade

CHUNK = 64 * 1024
UPLOAD_LIMIT = 256 * 1024


@pytest.fixture
def prod(tmp_path, database_url):
    settings = make_settings(tmp_path, database_url, dev=False,
                             signing={"keys": {"k1": "a-long-random-signing-secret"}},
                             ingest={"max_upload_bytes": UPLOAD_LIMIT})
    upgrade(Runtime(settings).engine)
    app = create_app(settings, start_workers=False)
    with TestClient(app) as c:
        c.app_ = app
        c.runtime = app.state.runtime
        c.sessions = app.state.runtime.sessions
        c.key = create_key(c.sessions, "w", ["read", "write"])
        yield c


@pytest.fixture
def handlers(monkeypatch) -> list[str]:
    """Names of the service methods that ran (a refused body must reach none)."""
    ran: list[str] = []
    for name in ("create", "assign", "log_events", "log_exposures"):
        original = getattr(ExperimentService, name)

        def spy(self, *args, _name=name, _original=original, **kwargs):
            ran.append(_name)
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(ExperimentService, name, spy)
    return ran


class Body:
    """A request body the server pulls chunk by chunk, endless unless ``total`` is given;
    ``read`` counts the chunks it pulled."""

    def __init__(self, total: int | None = None, chunk: bytes = b" " * CHUNK) -> None:
        self.total, self.chunk, self.read = total, chunk, 0

    async def receive(self) -> dict:
        self.read += 1
        more = self.total is None or self.read * len(self.chunk) < self.total
        return {"type": "http.request", "body": self.chunk, "more_body": more}


def asgi(app, method: str, path: str, headers: dict[str, str], body: Body) -> tuple[int, dict]:
    """Call ``app`` the way a server would, with ``body`` as the request stream."""
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
             "method": method, "path": path, "raw_path": path.encode(), "root_path": "",
             "scheme": "http", "query_string": b"", "client": ("127.0.0.1", 1234),
             "server": ("testserver", 80), "state": {},
             "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()]}
    answer: dict = {"body": b""}

    async def send(message: dict) -> None:
        if message["type"] == "http.response.start":
            answer["status"] = message["status"]
        elif message["type"] == "http.response.body":
            answer["body"] += message.get("body", b"")

    asyncio.run(app(scope, body.receive, send))
    return answer["status"], json.loads(answer["body"])


JSON_ROUTES = [("POST", "/v1/experiments", JSON_BODY_LIMIT),
               ("POST", "/v1/experiments/hero/assign", JSON_BODY_LIMIT),
               ("PUT", "/v1/experiments/hero", JSON_BODY_LIMIT),
               ("POST", "/v1/events", LOG_BODY_LIMIT),
               ("POST", "/v1/exposures", LOG_BODY_LIMIT)]


def test_a_body_without_a_key_is_refused_unread(prod, handlers):
    for method, path, _ in JSON_ROUTES + [("POST", "/v1/assets", 0)]:
        for headers in ({"content-length": str(256 * 1024 * 1024)},
                        {"transfer-encoding": "chunked"},
                        {"content-length": "1000", "authorization": "Bearer vk_nope_nope"},
                        {"transfer-encoding": "chunked", "x-api-key": "vk_\x01_bad"}):
            body = Body()
            status, answer = asgi(prod.app_, method, path, headers, body)
            assert (status, answer["error"]["code"]) == (401, "unauthorized"), (path, headers)
            assert body.read == 0, (path, headers)
    assert handlers == []


def test_a_declared_length_over_the_cap_is_refused_unread(prod, handlers):
    auth = {"authorization": f"Bearer {prod.key}"}
    upload_cap = UPLOAD_LIMIT + 128 * 1024
    for method, path, limit in JSON_ROUTES + [("POST", "/v1/assets", upload_cap)]:
        body = Body()
        status, answer = asgi(prod.app_, method, path,
                              {**auth, "content-length": str(limit + 1)}, body)
        assert (status, answer["error"]["code"]) == (413, "payload_too_large"), path
        assert answer["error"]["details"] == {"limit": limit} and body.read == 0, path
    status, answer = asgi(prod.app_, "POST", "/v1/experiments",
                          {**auth, "content-length": "9" * 5000}, Body())
    assert status == 413 and answer["error"]["details"] == {"limit": JSON_BODY_LIMIT}
    status, answer = asgi(prod.app_, "POST", "/v1/experiments",
                          {**auth, "content-length": "-5"}, Body())
    assert (status, answer["error"]["code"]) == (400, "invalid_content_length")
    assert handlers == []


def test_a_stream_over_the_cap_is_cut_while_read(prod, handlers):
    auth = {"authorization": f"Bearer {prod.key}", "transfer-encoding": "chunked"}
    before = footprint(prod)
    for method, path, limit in JSON_ROUTES:
        body = Body()
        status, answer = asgi(prod.app_, method, path, auth, body)
        assert (status, answer["error"]["code"]) == (413, "payload_too_large"), path
        assert answer["error"]["details"] == {"limit": limit}, path
        assert body.read == limit // CHUNK + 1, path  # stopped at the first chunk over
    assert handlers == [] and footprint(prod) == before
    # an upload streams to its route: cut as it passes the cap, nothing stored
    head = (b"--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.png\"\r\n"
            b"Content-Type: image/png\r\n\r\n")
    body = Body(chunk=head + b"\x89PNG" + b"\0" * CHUNK)
    status, answer = asgi(prod.app_, "POST", "/v1/assets",
                          {**auth, "content-type": "multipart/form-data; boundary=b"}, body)
    assert (status, answer["error"]["code"]) == (413, "payload_too_large")
    assert body.read <= (UPLOAD_LIMIT + 128 * 1024) // CHUNK + 1
    assert prod.get("/v1/assets", headers={"authorization": f"Bearer {prod.key}"}).json()["items"] == []


def test_authenticated_bodies_still_work(prod):
    auth = {"authorization": f"Bearer {prod.key}"}
    assert prod.post("/v1/experiments", json={"definition": GOOD, "plan": PLAN},
                     headers=auth).status_code == 201
    r = prod.post("/v1/experiments/hero/assign", json={"unit_id": "u1"}, headers=auth)
    assert r.status_code == 200 and r.json()["variant"] in ("control", "b")
    reader = {"authorization": "Bearer " + create_key(prod.sessions, "r", ["read"])}
    r = prod.post("/v1/experiments", json={"definition": GOOD}, headers=reader)
    assert r.status_code == 403  # authenticated before the body, authorised after


# --- Range and nosniff -----------------------------------------------------------------

def test_absurd_ranges_and_nosniff(client):
    data = (PHOTOS / "coffee.png").read_bytes()
    asset = client.post("/v1/assets", files={"file": ("coffee.png", data, "image/png")}).json()
    process_all(client.runtime)
    original = f"/v1/assets/{asset['id']}/original"
    huge = "9" * 5000
    for header, status in ((f"bytes={huge}-", 416), (f"bytes={huge}-{huge}", 416),
                           (f"bytes=0-{huge}", 206), (f"bytes=-{huge}", 206),
                           ("bytes=" + "0" * 5000 + "5-9", 206)):
        r = client.get(original, headers={"Range": header})
        assert r.status_code == status, header
        if status == 206:
            start = 5 if header.endswith("5-9") else 0
            assert r.content == data[start:10 if start else None], header
        else:
            assert r.json()["error"]["code"] == "range_not_satisfiable"
    assert client.get(original).headers["x-content-type-options"] == "nosniff"
    derivative = client.get(f"/v1/assets/{asset['id']}").json()["derivatives"][0]["url"]
    r = client.get(derivative)
    assert r.status_code == 200 and r.headers["x-content-type-options"] == "nosniff"


# --- numbers ---------------------------------------------------------------------------

def _raw(client, method: str, path: str, text: str):
    return client.request(method, path, content=text.encode("utf-8", "surrogatepass"),
                          headers={"content-type": "application/json"})


@pytest.fixture
def seeded(client):
    assert client.post("/v1/experiments", json={"definition": GOOD, "plan": PLAN}).status_code == 201
    return client


def test_weights_must_be_finite(seeded):
    before = footprint(seeded)
    for weights in ("1e999", "-1e999", "NaN", "Infinity", "1" + "0" * 400, "1e308"):
        variants = f'[{{"key": "control", "weight": {weights}}}, {{"key": "b", "weight": 1e308}}]'
        for method, path in (("POST", "/v1/experiments"), ("PUT", "/v1/experiments/hero")):
            text = f'{{"definition": {{"key": "hero", "variants": {variants}}}}}'
            r = _raw(seeded, method, path, text)
            assert r.status_code == 400, (weights, r.text)
            assert r.json()["error"]["code"] in ("invalid_experiment", "invalid_input"), weights
    assert footprint(seeded) == before
    r = seeded.post("/v1/experiments/hero/assign", json={"unit_id": "u1"})
    assert r.status_code == 200


def test_event_and_exposure_numbers_must_be_finite(seeded):
    before = footprint(seeded)
    now = time.time()
    for number in ("1e999", "-1e999", "NaN", "Infinity", "1" + "0" * 400, "1e308", "-1e16"):
        for name, item in (("events", '{"unit_id": "u", "event": "buy", "value": %s}'),
                           ("events", '{"unit_id": "u", "event": "buy", "timestamp": %s}'),
                           ("exposures", ('{"experiment": "hero", "unit_id": "u", '
                                         '"variant": "b", "timestamp": %s}'))):
            good = item.replace("%s", str(now))
            r = _raw(seeded, "POST", f"/v1/{name}",
                     '{{"{}": [{}, {}]}}'.format(name, good, item.replace("%s", number)))
            assert r.status_code == 400, (name, number, r.text)
            error = r.json()["error"]
            assert error["code"] == "invalid_logs" and error["details"]["problems"][0]["index"] == 1
    assert footprint(seeded) == before


def test_results_end_must_be_finite(seeded):
    for end in ("nan", "inf", "-inf", "NaN", "Infinity"):
        r = seeded.get(f"/v1/experiments/hero/results?end={end}")
        assert (r.status_code, r.json()["error"]["code"]) == (400, "invalid_input"), end
    assert seeded.get(f"/v1/experiments/hero/results?end={time.time()}").status_code == 200


# --- JSON structure and text -----------------------------------------------------------

BODY_ROUTES = [("POST", "/v1/events", '{"events": [{"unit_id": %s, "event": "buy"}]}'),
               ("POST", "/v1/exposures",
                '{"exposures": [{"experiment": "hero", "unit_id": %s, "variant": "b"}]}'),
               ("POST", "/v1/experiments",
                ('{"definition": {"key": "other", "description": %s, '
                '"variants": [{"key": "control"}]}}')),
               ("PUT", "/v1/experiments/hero",
                ('{"definition": {"key": "hero", "description": %s, '
                '"variants": [{"key": "control"}, {"key": "b"}]}}')),
               ("POST", "/v1/experiments/hero/assign", '{"unit_id": %s}')]


def test_deep_json_is_refused(seeded, handlers):
    before = footprint(seeded)
    for depth in (MAX_JSON_DEPTH + 1, 100_000):
        deep = "[" * depth + "]" * depth
        for method, path, template in BODY_ROUTES:
            r = _raw(seeded, method, path, template % deep)
            assert (r.status_code, r.json()["error"]["code"]) == (400, "json_too_deep"), \
                (path, depth)
            assert r.json()["error"]["details"] == {"max_depth": MAX_JSON_DEPTH}
    assert handlers == [] and footprint(seeded) == before
    nested = '{"a": ' * 10 + "1" + "}" * 10
    r = _raw(seeded, "POST", "/v1/experiments/hero/assign", f'{{"unit_id": "u", "attributes": {nested}}}')
    assert r.status_code == 200


def test_text_no_catalog_stores_is_refused(seeded, handlers):
    before = footprint(seeded)
    for text in (r'"\ud800"', r'"a\udfffb"', r'"\ude00\ud83d"', r'"\u0000"', r'"x\u0000"'):
        for method, path, template in BODY_ROUTES:
            r = _raw(seeded, method, path, template % text)
            assert (r.status_code, r.json()["error"]["code"]) == (400, "invalid_text"), \
                (path, text, r.text)
    key_with_nul = '{"unit_id": "u", "attributes": {"\\u0000": 1}}'
    for raw in (key_with_nul.encode(), b'{"unit_id": "\xed\xa0\x80"}', b'{"unit_id": "\xff"}',
                b'{"unit_id": "a\x00"}'):
        r = seeded.post("/v1/experiments/hero/assign", content=raw,
                        headers={"content-type": "application/json"})
        assert (r.status_code, r.json()["error"]["code"]) == (400, "invalid_text"), raw
    assert handlers == [] and footprint(seeded) == before
    # a surrogate pair is one character, and text that only looks like an escape is text
    for unit in (r'"\ud83d\ude00"', r'"\\u0000"', r'"\\ud800"'):
        r = _raw(seeded, "POST", "/v1/experiments/hero/assign", f'{{"unit_id": {unit}}}')
        assert r.status_code == 200, unit
        assert r.json()["unit_id"] == json.loads(unit)


def test_a_nul_in_the_query_string_is_refused(seeded):
    before = footprint(seeded)
    for path in ("/v1/assets?tag=%00", "/v1/assets?tag=a%00b", "/v1/search?tag=%00",
                 "/v1/search?q=cat%00", "/v1/items?type=%00",
                 "/v1/recommendations?user=%00"):
        r = seeded.get(path)
        assert (r.status_code, r.json()["error"]["code"]) == (400, "invalid_text"), (path, r.text)
    assert footprint(seeded) == before
    # an escaped percent sign is text, not a NUL
    assert seeded.get("/v1/assets?tag=%2500").status_code == 200


def test_file_names_no_catalog_stores_are_refused(client):
    data = (PHOTOS / "coffee.png").read_bytes()
    for name in (b"a\x00b.png", b"\xff\xfe.png", b"\xed\xa0\x80.png"):
        body = (b"--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"" + name
                + b"\"\r\nContent-Type: image/png\r\n\r\n" + data + b"\r\n--b--\r\n")
        r = client.post("/v1/assets", content=body,
                        headers={"content-type": "multipart/form-data; boundary=b"})
        assert (r.status_code, r.json()["error"]["code"]) == (400, "invalid_text"), name
    assert client.get("/v1/assets").json()["items"] == []
    for name in ("\ud800.png", "a\x00"):
        with pytest.raises(Exception, match="UTF-8") as refused:
            safe_filename(name)
        assert refused.value.code == "invalid_text"
    assert safe_filename("caf\u00e9 \U0001f600.png") == "caf\u00e9 \U0001f600.png"


# --- duplicates ------------------------------------------------------------------------

def test_duplicate_event_ids_are_counted(seeded):
    now = time.time()
    first = {"unit_id": "u1", "event": "buy", "id": "e1", "timestamp": now}
    r = seeded.post("/v1/events", json={"events": [first]})
    assert r.status_code == 201 and r.json()["accepted"] == 1
    again = [{**first, "unit_id": "u2"}, {**first, "id": "e2"}, {**first, "id": "e2"},
             {**first, "id": None}]
    r = seeded.post("/v1/events", json={"events": again})
    assert r.status_code == 201 and r.json() == {"accepted": 2, "duplicates": 2}  # e2 once, the id-less one
    logged = ExperimentService(seeded.runtime.sessions).log_events("default", again)
    assert (logged.accepted, logged.duplicates) == (1, 3)  # only the id-less one is new
    assert logged == 1
