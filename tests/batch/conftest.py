"""A catalog of real photos in several sizes and crops, made once per session and
copied for each test that changes it (SQLite in its data dir, blobs beside it)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.conftest import PHOTOS, make_settings

BUMPED = "tests.batch.bumped"


def variants(directory: Path, n: int) -> list[Path]:
    """``n`` distinct images: each photo at several widths and crops (PNG, lossless)."""
    import pyvips

    directory.mkdir(parents=True, exist_ok=True)
    photos = sorted(PHOTOS.iterdir())
    out = []
    for i in range(n):
        src = pyvips.Image.new_from_file(str(photos[i % len(photos)]))
        if src.hasalpha():
            src = src.flatten()
        k = i // len(photos)
        width = (96, 160, 224, 320, 128, 192, 256, 288)[k % 8]
        img = src.thumbnail_image(width)
        if k % 2:  # a crop: a corner that moves with k
            w, h = max(8, img.width * 3 // 4), max(8, img.height * 3 // 4)
            img = img.crop((k * 7) % (img.width - w + 1), (k * 5) % (img.height - h + 1), w, h)
        path = directory / f"v{i:03d}.png"
        img.pngsave(str(path))
        out.append(path)
    return out


def build_catalog(root: Path, n: int) -> Path:
    """A processed catalog of ``n`` assets under ``root / data``; returns the data dir."""
    from vitrina.testing import make_runtime, process_all

    settings = make_settings(root, "", derivatives={"formats": ["jpeg"]})
    rt = make_runtime(settings)
    try:
        for path in variants(root / "photos", n):
            rt.ingestor.ingest_file(path)
        process_all(rt)
    finally:
        rt.close()
    return settings.data_dir


@pytest.fixture(scope="session")
def catalog_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """48 processed image assets (session-wide; copy before changing). Kept by path, so
    a module that borrows the fixture (the engine contracts) finds the same one."""
    root = tmp_path_factory.getbasetemp() / "batch-template"
    if not (root / "done").exists():
        root.mkdir(exist_ok=True)
        build_catalog(root, 48)
        (root / "done").touch()
    return root / "data"


def copy_catalog(template: Path, root: Path) -> Path:
    data = root / "data"
    shutil.copytree(template, data)
    return data


def settings_for(data_dir: Path, *plugins: str, **overrides):
    """Settings over a copied catalog, with ``plugins`` (module names) loaded."""
    return make_settings(data_dir.parent, "", derivatives={"formats": ["jpeg"]}, plugins=list(plugins),
                         **overrides)
