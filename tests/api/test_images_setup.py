"""Shared by tests/api/test_images*.py: a catalog with real photos ingested and
processed once per module, and apps over it with any delivery settings."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyvips
from fastapi.testclient import TestClient

from tests.conftest import PHOTOS, merged, process_all
from vitrina.api.app import create_app
from vitrina.config import Settings
from vitrina.delivery import Signer
from vitrina.delivery.configured import signer_from
from vitrina.delivery.service import ImageService
from vitrina.pipeline.ingest import Ingestor
from vitrina.runtime import Runtime
from vitrina.storage.catalog.db import upgrade

KEYS = {"k1": "a-long-random-signing-secret-1", "k2": "another-long-signing-secret-22"}
PRESETS = {"card": "w_400,h_300,c_fill,g_auto"}
ALPHA = "coffee-alpha.png"  # coffee.png with a transparent hole: an image with alpha


@dataclass(frozen=True)
class Library:
    root: Path
    ids: dict[str, str]  # file name -> asset id

    def settings(self, **overrides: Any) -> Settings:
        values: dict[str, Any] = dict(  # noqa: C408  keyword form reads as settings
            dev=False,
            data_dir=self.root / "data",
            database_url=f"sqlite:///{self.root / 'catalog.db'}",
            server={"inprocess_workers": 0},
            signing={"keys": KEYS, "key_id": "k1"},
            delivery={"presets": PRESETS},
            derivatives={"widths": [320], "formats": ["jpeg"]},
        )
        return Settings(**merged(values, overrides))


def build_library(root: Path, names: list[str]) -> Library:
    """Ingest ``names`` (from data/photos, or ALPHA) and run the whole pipeline on them."""
    library = Library(root, {})
    runtime = Runtime(library.settings())
    upgrade(runtime.engine)
    ingestor = Ingestor(runtime)
    for name in names:
        path = PHOTOS / name
        if name == ALPHA:
            path = root / ALPHA
            coffee = pyvips.Image.new_from_file(str(PHOTOS / "coffee.png"))
            alpha = pyvips.Image.black(coffee.width, coffee.height).draw_rect(
                255, 100, 100, 200, 150, fill=True
            )
            hole = (255 - alpha).cast("uchar")
            coffee.bandjoin(hole).pngsave(str(path))  # opaque but for a 200x150 hole
        library.ids[name] = ingestor.ingest_file(path).asset_id
    process_all(runtime)
    runtime.close()
    return library


class ImageClient(TestClient):
    signer: Signer
    service: ImageService
    library: Library

    def url(self, name: str, ops: str, **kwargs: Any) -> str:
        return self.signer.url(self.library.ids[name], ops, **kwargs)


@contextmanager
def serve(library: Library, **overrides: Any) -> Iterator[ImageClient]:
    settings = library.settings(**overrides)
    app = create_app(settings, start_workers=False)
    with ImageClient(app) as client:
        client.signer = signer_from(settings)
        client.service = app.state.images.service
        client.library = library
        yield client


def decode(data: bytes) -> pyvips.Image:
    return pyvips.Image.new_from_buffer(data, "")
