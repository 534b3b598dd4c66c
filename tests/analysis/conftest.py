"""Previews of the real photos, made the way the pipeline makes them."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy
import pytest

from vitrina.media.image import preview_array

PHOTOS = Path(__file__).resolve().parents[2] / "data" / "photos"
REFERENCE = Path(__file__).resolve().parent / "reference.json"
# Set VITRINA_REGEN_REFERENCES=1 to rewrite reference.json from the current code
# (after a deliberate change such as a libvips upgrade; run without -n, review the diff).
REGENERATE = os.environ.get("VITRINA_REGEN_REFERENCES") == "1"


@pytest.fixture(scope="session")
def photos() -> Path:
    return PHOTOS


@pytest.fixture(scope="session")
def previews() -> dict[str, numpy.ndarray]:
    return {p.name: preview_array(p) for p in sorted(PHOTOS.iterdir())}


class References:
    """reference.json: compare with it, or rewrite a section when regenerating."""

    def __init__(self) -> None:
        self.data = json.loads(REFERENCE.read_text()) if REFERENCE.exists() else {}

    def check(self, section: str, actual: dict[str, str]) -> None:
        if REGENERATE:
            self.data[section] = actual
            REFERENCE.write_text(json.dumps(self.data, indent=2, sort_keys=True) + "\n")
            pytest.skip(f"regenerated {section!r} in {REFERENCE.name}")
        assert actual == self.data[section]


@pytest.fixture(scope="session")
def references() -> References:
    return References()


def get(name: str):
    """A built-in analyser by name, from registries of this test's own."""
    from vitrina.testing import make_registries

    return make_registries().analysers.get(name)
