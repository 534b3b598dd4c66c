"""One answer per error, whichever route raised it: the raw image route and the FastAPI
routes send what vitrina.errors.error_parts makes."""

from __future__ import annotations

import json

from fastapi import FastAPI
from fastapi.testclient import TestClient

from vitrina.api import errors as api_errors
from vitrina.delivery.limiter import TooBusy
from vitrina.errors import MethodNotAllowed, NotFound, RangeNotSatisfiable, error_parts


def test_error_parts_status_headers_and_body() -> None:
    status, headers, body = error_parts(NotFound("No image has this id.", details={"id": "é"}))
    assert status == 404
    assert json.loads(body) == {"error": {"code": "not_found", "message": "No image has this id.",
                                          "details": {"id": "é"}}}  # fmt: skip
    assert dict(headers) == {"content-type": "application/json", "cache-control": "no-store",
                             "content-length": str(len(body))}  # fmt: skip
    assert dict(error_parts(TooBusy("busy"))[1])["retry-after"] == "1"
    assert dict(error_parts(MethodNotAllowed("no", allow=("GET", "HEAD")))[1])["allow"] == "GET, HEAD"
    ranged = RangeNotSatisfiable("past the end", details={"size": 1234})
    assert dict(error_parts(ranged)[1])["content-range"] == "bytes */1234"
    assert "content-range" not in dict(error_parts(RangeNotSatisfiable("no size"))[1])


def test_fastapi_routes_answer_the_same_way() -> None:
    app = FastAPI()
    api_errors.install(app)

    @app.get("/busy")
    def busy() -> None:
        raise TooBusy("The image server is busy; retry shortly.")

    with TestClient(app) as client:
        r = client.get("/busy")
        status, headers, body = error_parts(TooBusy("The image server is busy; retry shortly."))
        assert (r.status_code, r.content) == (status, body)
        assert {k: r.headers[k] for k in dict(headers)} == dict(headers)
        moved = client.post("/busy")  # a method the route does not answer
        assert moved.status_code == 405 and moved.headers["allow"] == "GET"
        assert moved.json()["error"]["code"] == "method_not_allowed"
