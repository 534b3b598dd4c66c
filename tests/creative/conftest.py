"""Demo items from the real photos in data/photos (with the focus the analyser finds in
them), a demo brand kit whose logo is tests/creative/data/logo.png, and for the API
tests a runtime with two projects whose settings sign URLs; ``world`` adds two demo
items from real photos, processed, and the demo brand kit (the campaign and
production tests' start)."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import make_settings
from vitrina.access.keys import create_key
from vitrina.api.app import create_app
from vitrina.creative.brand import BrandKit
from vitrina.creative.documents import DocumentService, parser_for
from vitrina.media.focus import detect_focus
from vitrina.recs.items import ItemService
from vitrina.storage.catalog.db import transaction
from vitrina.storage.catalog.projects import DEFAULT_PROJECT, ProjectRow
from vitrina.testing import make_runtime, process_all

HERE = Path(__file__).parent
PHOTOS = HERE.parents[1] / "data" / "photos"
LOGO = HERE / "data" / "logo.png"
SIGNING = {"k1": "a-long-random-signing-secret"}
B = "team-b"

DEMO_ITEMS = (
    {"id": "astronaut", "photo": "astronaut.png", "title": "Astronaut portrait print",
     "price": 24.0, "currency": "EUR", "attributes": {"size": "50x70 cm"},
     "text": {"subline": "Museum-grade paper, framed by hand", "cta": "Shop now"}},
    {"id": "coffee", "photo": "coffee.png", "title": "Single-origin espresso beans",
     "price": 14.5, "currency": "USD", "attributes": {"weight": "1 kg"},
     "text": {"subline": "Roasted this week in small batches", "cta": "Order"}},
    {"id": "chelsea", "photo": "chelsea.png", "title": "Cat bed with washable cover",
     "price": 39.99, "currency": "GBP", "attributes": {},
     "text": {"subline": "Soft, warm and machine washable", "cta": "Buy now"}},
    {"id": "rocket", "photo": "rocket.jpg", "title": "Model rocket kit for beginners, ready to fly in an afternoon",
     "price": 59.0, "currency": "EUR", "attributes": {"age": "12+"},
     "text": {"subline": "Launch pad, parachute and three engines included", "cta": "Get yours"}},
)


def brand_dict(**changes):
    data = {
        "id": "demo", "version": 3, "name": "Demo Goods", "logo": LOGO.read_bytes(),
        "palette": {"primary": "#113f67", "secondary": "#34699a", "background": "#fdf6ec",
                    "text": "#1b1b1b", "accent": "#ffb703"},
        "fonts": {"headline": "Inter", "body": "Roboto",
                  "fallbacks": ["Noto Sans", "Noto Sans Arabic", "Heebo"]},
        "min_contrast": 4.5, "safe_margin": 0.05, "logo_clear_space": 0.25,
        "forbidden_words": ["guaranteed"], "allowed_claims": ["free shipping"],
    }
    data.update(changes)
    return data


@pytest.fixture(scope="session")
def brand() -> BrandKit:
    return BrandKit.from_dict(brand_dict())


@pytest.fixture(scope="session")
def demo_items():
    """Each item with its photo bytes and the focus signal stored for it at ingest."""
    out = []
    for spec in DEMO_ITEMS:
        data = (PHOTOS / spec["photo"]).read_bytes()
        out.append({**spec, "image": data, "focus": detect_focus(data).to_dict()})
    return out


def kit(**changes: Any) -> dict[str, Any]:
    """A brand kit as an API body (its logo in base64, no id or version)."""
    data = {"name": "Demo Goods", "logo": base64.b64encode(LOGO.read_bytes()).decode(),
            "palette": {"primary": "#113f67", "secondary": "#34699a", "background": "#fdf6ec",
                        "text": "#1b1b1b", "accent": "#ffb703"},
            "fonts": {"headline": "Inter", "body": "Roboto", "fallbacks": ["Noto Sans"]}}
    return {**data, **changes}


@pytest.fixture
def two_projects(tmp_path, database_url):
    """Settings that sign URLs, and a runtime on them holding a second project, team-b."""
    settings = make_settings(tmp_path, database_url, dev=False, signing={"keys": SIGNING})
    rt = make_runtime(settings)
    with transaction(rt.sessions) as s:
        s.add(ProjectRow(id=B, name="Team B", quotas={}))
    yield settings, rt
    rt.close()


def bearer(rt, name: str, scopes: list[str], project: str = DEFAULT_PROJECT) -> dict:
    """Headers with a new API key of ``scopes`` in ``project``."""
    return {"Authorization": f"Bearer {create_key(rt.sessions, name, scopes, project)}"}


@dataclass
class World:
    rt: Any
    client: TestClient
    as_a: dict[str, str]
    as_b: dict[str, str]
    assets: dict[str, str]  # photo file name -> asset id


@pytest.fixture
def world(two_projects):
    settings, rt = two_projects
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
    items.upsert(DEFAULT_PROJECT, "odd-price", {
        "type": "voucher", "title": "Tasting voucher", "attributes": {"price": "a few euros"},
        "asset_ids": [assets["coffee.png"]]})
    DocumentService(rt.sessions).put(DEFAULT_PROJECT, "brand_kit", "demo", kit(),
                                     parser_for("brand_kit", "demo"))
    w = World(rt, TestClient(create_app(settings, start_workers=False, runtime=rt)),
              bearer(rt, "a", ["admin"]), bearer(rt, "b", ["admin"], B), assets)
    with w.client:
        yield w
