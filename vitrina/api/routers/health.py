"""Liveness, readiness and metrics."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from vitrina.api.deps import get_runtime
from vitrina.storage.catalog.db import check_schema

router = APIRouter(tags=["operations"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/readyz")
def readyz(request: Request) -> JSONResponse:
    """The catalog answers with the expected schema and the blob store is reachable."""
    rt = get_runtime(request)
    checks: dict[str, str] = {}
    try:
        with rt.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        check_schema(rt.engine)
        checks["catalog"] = "ok"
    except Exception as exc:  # noqa: BLE001  readiness reports any failure
        checks["catalog"] = f"failing: {getattr(exc, 'message', type(exc).__name__)}"
    try:
        rt.store.exists("readyz/probe")
        checks["blobs"] = "ok"
    except Exception as exc:  # noqa: BLE001  readiness reports any failure
        checks["blobs"] = f"failing: {type(exc).__name__}"
    ok = all(v == "ok" for v in checks.values())
    return JSONResponse({"status": "ok" if ok else "unavailable", "checks": checks}, status_code=200 if ok else 503)


@router.get("/metrics")
def metrics(request: Request) -> Response:
    return Response(generate_latest(request.app.state.metrics.registry), media_type=CONTENT_TYPE_LATEST)
