"""A project with two demo items (real photos, ingested and processed so their focus
signals exist), the demo brand kit, and an API client: what campaign tests start from."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

from fastapi.testclient import TestClient

from tests.conftest import PHOTOS, make_settings
from tests.creative.conftest import LOGO
from vitrina.access.keys import create_key
from vitrina.api.app import create_app
from vitrina.creative.documents import DocumentService, parser_for
from vitrina.recs.items import ItemService
from vitrina.storage.catalog.db import transaction
from vitrina.storage.catalog.projects import DEFAULT_PROJECT, ProjectRow
from vitrina.testing import make_runtime, process_all

SIGNING = {"k1": "a-long-random-signing-secret"}
B = "team-b"


def kit(**changes: Any) -> dict[str, Any]:
    data = {"name": "Demo Goods", "logo": base64.b64encode(LOGO.read_bytes()).decode(),
            "palette": {"primary": "#113f67", "secondary": "#34699a", "background": "#fdf6ec",
                        "text": "#1b1b1b", "accent": "#ffb703"},
            "fonts": {"headline": "Inter", "body": "Roboto", "fallbacks": ["Noto Sans"]}}
    return {**data, **changes}


def campaign(**changes: Any) -> dict[str, Any]:
    data = {"brand_kit": "demo", "templates": ["hero", "overlay"],
            "placements": ["square", "medium-rectangle", "leaderboard"],
            "items": ["coffee", "chelsea"], "copy": {"variants": 2}, "images": 1, "ocr": False}
    return {**data, **changes}


@dataclass
class World:
    rt: Any
    client: TestClient
    as_a: dict[str, str]
    as_b: dict[str, str]
    assets: dict[str, str]  # photo file name -> asset id


def build(tmp_path, database_url: str):
    settings = make_settings(tmp_path, database_url, dev=False, signing={"keys": SIGNING})
    rt = make_runtime(settings)
    with transaction(rt.sessions) as s:
        s.add(ProjectRow(id=B, name="Team B", quotas={}))
    assets = {name: rt.ingestor.ingest_file(PHOTOS / name).asset_id
              for name in ("coffee.png", "chelsea.png", "astronaut.png")}
    process_all(rt)
    items = ItemService.of(rt)
    items.upsert(DEFAULT_PROJECT, "coffee", {
        "type": "product", "title": "Single-origin espresso beans",
        "attributes": {"price": 14.5, "currency": "USD", "category": "coffee"},
        "asset_ids": [assets["coffee.png"], assets["astronaut.png"]]})
    items.upsert(DEFAULT_PROJECT, "chelsea", {
        "type": "product", "title": "Cat bed with washable cover",
        "attributes": {"price": 39.99, "currency": "GBP", "brand": "Purr"},
        "asset_ids": [assets["chelsea.png"]]})
    items.upsert(DEFAULT_PROJECT, "no-photo", {"type": "product", "title": "Gift card"})
    DocumentService(rt.sessions).put(DEFAULT_PROJECT, "brand_kit", "demo", kit(),
                                     parser_for("brand_kit", "demo"))
    as_a = {"Authorization": f"Bearer {create_key(rt.sessions, 'a', ['admin'], DEFAULT_PROJECT)}"}
    as_b = {"Authorization": f"Bearer {create_key(rt.sessions, 'b', ['admin'], B)}"}
    client = TestClient(create_app(settings, start_workers=False, runtime=rt))
    return World(rt, client, as_a, as_b, assets)
