"""GET /v1/creatives/{campaign}/{placement}: the variant to show, chosen by the
placement's policy (decision 036)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["creative"])
