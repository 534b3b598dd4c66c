"""The OpenAPI document says what the API answers; /docs and /redoc need no network;
uploads and image requests are counted."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from tests.api.test_assets import upload
from tests.conftest import process_all
from vitrina.api.openapi import ERROR_REF

ERROR_STATUSES = {"400", "401", "403", "404", "409", "413", "415", "416", "422", "429", "503"}


@pytest.fixture
def spec(client):
    return client.get("/openapi.json").json()


def _operations(spec):
    for path, item in spec["paths"].items():
        for method, op in item.items():
            yield path, method, op


def test_every_error_answer_is_the_one_error_body_and_no_fake_422(spec):
    assert "HTTPValidationError" not in spec["components"]["schemas"]
    assert spec["components"]["schemas"]["ErrorBody"]["required"] == ["error"]
    for path, method, op in _operations(spec):
        for status, answer in op["responses"].items():
            if status in ERROR_STATUSES:
                assert answer["content"] == {"application/json": {"schema": ERROR_REF}}, (path, status)
        assert "HTTPValidationError" not in str(op), (path, method)
        if "422" in op["responses"]:
            assert (path, method) == ("/v1/assets", "post")  # corrupt_media, media_too_large


def test_statuses_follow_the_routes(spec):
    def codes(path, method):
        return set(spec["paths"][path][method]["responses"])

    assert {"401", "403"} <= codes("/v1/usage", "get")
    assert "404" not in codes("/v1/usage", "get")
    assert {"400", "401", "403", "409", "413", "415", "422", "429"} <= codes("/v1/assets", "post")
    assert {"404", "416", "206"} <= codes("/v1/assets/{asset_id}/original", "get")
    assert {"400", "404", "409"} <= codes("/v1/experiments/{key}", "put")
    assert {"409"} <= codes("/v1/projects/{project_id}", "delete")
    assert codes("/healthz", "get") == {"200"}
    assert {"403", "404", "429", "503"} <= codes("/img/{signature}/{ops}/{asset_id}", "get")


def test_upload_documents_its_file_and_idempotency_key(spec):
    op = spec["paths"]["/v1/assets"]["post"]
    form = op["requestBody"]["content"]["multipart/form-data"]["schema"]
    assert form["required"] == ["file"] and form["properties"]["file"]["format"] == "binary"
    assert [p["name"] for p in op["parameters"] if p["in"] == "header"] == ["Idempotency-Key"]


def test_v1_routes_carry_the_security_schemes(spec):
    schemes = spec["components"]["securitySchemes"]
    assert schemes["bearer"]["scheme"] == "bearer" and schemes["apiKey"]["name"] == "X-API-Key"
    for path, method, op in _operations(spec):
        assert ("security" in op) == path.startswith("/v1/"), (path, method)


def test_experiment_definitions_and_plans_are_typed(spec):
    schemas = spec["components"]["schemas"]
    body = schemas["ExperimentIn"]["properties"]
    assert body["definition"]["$ref"] == "#/components/schemas/ExperimentDefinition"
    assert {"$ref": "#/components/schemas/AnalysisPlanDef"} in body["plan"]["anyOf"]
    definition = schemas["ExperimentDefinition"]
    assert definition["required"] == ["key", "variants"] and definition["additionalProperties"] is False
    assert schemas["MetricDef"]["properties"]["kind"]["$ref"].endswith("/MetricKind")
    assert "x-vitrina-model" not in str(spec)


def test_the_precheck_answers_the_library_codes(client):
    good = {"key": "hero", "variants": [{"key": "a"}]}
    r = client.post("/v1/experiments", json={"definition": {**good, "variants": [{"key": "a", "weight": "x"}]}})
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_experiment"
    assert r.json()["error"]["details"]["problems"][0]["loc"] == ["variants", 0, "weight"]
    r = client.post("/v1/experiments", json={"definition": good, "plan": {"metrics": [{"name": "m"}]}})
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_metric"
    # what the library accepts, the models accept (a key ending in a newline, as Python's re does)
    flag = {"key": "flag", "variants": [{"key": "off", "weight": 0, "value": False}, {"key": "on", "value": 1}],
            "targeting": [{"attribute": "country", "op": "in", "value": ["fr"]}],
            "rollout": {"stages": [{"start": "2026-01-01T00:00:00+00:00", "traffic": 0.1}]}}
    created = client.post("/v1/experiments", json={"definition": flag})
    assert created.status_code == 201, created.text
    assert created.json()["definition"]["variants"][0]["weight"] == 0


class _Refs(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.urls += [v for k, v in attrs if k in ("src", "href") and v]


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_docs_pages_load_only_same_origin_files(client, page):
    html = client.get(page)
    assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")
    refs = _Refs()
    refs.feed(html.text)
    inline = re.findall(r"""url:\s*['"]([^'"]+)['"]|spec-url=['"]([^'"]+)['"]""", html.text)
    urls = refs.urls + [a or b for a, b in inline]
    assert urls and "http" not in html.text.replace("http-equiv", "")
    for url in urls:
        assert url.startswith("/") and not url.startswith("//"), url
        assert client.get(url).status_code == 200, url
    assert "/openapi.json" in urls


def _sample(text: str, name: str, **labels: str) -> float:
    wanted = ",".join(f'{k}="{v}"' for k, v in labels.items())
    for line in text.splitlines():
        if line.startswith(f"{name}{{{wanted}}} "):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_uploads_are_counted_by_outcome(client):
    upload(client)
    upload(client)
    assert client.post("/v1/assets", files={"file": ("a.txt", b"hello, not an image")}).status_code == 415
    metrics = client.get("/metrics").text
    for outcome, n in (("created", 1), ("duplicate", 1), ("rejected", 1)):
        assert _sample(metrics, "vitrina_ingest_total", outcome=outcome) == n, outcome


def test_image_requests_are_counted_hit_or_miss(client):
    asset = upload(client).json()["id"]
    process_all(client.runtime)
    url = f"/img/_/w_64/{asset}"
    assert [client.get(url).status_code for _ in range(3)] == [200, 200, 200]  # a render, then memory hits
    assert client.get(f"/img/_/w_0/{asset}").status_code == 400
    metrics = client.get("/metrics").text
    route = "/img/{signature}/{ops}/{asset_id}"
    assert _sample(metrics, "vitrina_http_requests_total", method="GET", route=route, status="200") == 3
    assert _sample(metrics, "vitrina_http_requests_total", method="GET", route=route, status="400") == 1
    assert 'route="unmatched"' not in metrics


def test_the_415_lists_only_the_enabled_kinds(client):
    r = client.post("/v1/assets", files={"file": ("a.pdf", b"%PDF-1.7 not media")})
    error = r.json()["error"]
    assert r.status_code == 415 and "image/jpeg" in error["details"]["accepted"]
    assert "video/mp4" in error["details"]["accepted"]  # the video kind is registered
    # the "recognised but not enabled" 415: tests/kinds/test_video_kind.py (a runtime without video)


def test_a_wrong_field_name_says_which_field_to_use(client):
    r = client.post("/v1/assets", files={"upload": ("big.jpg", b"\xff" * (65 * 1024))})
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_form"
    assert "named 'file'" in r.json()["error"]["message"]
