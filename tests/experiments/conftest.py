"""Shared fixtures of the experiments tests: the repository's data and the peers'
reference files (made by peers/make_references.sh, committed)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = Path(__file__).resolve().parent / "reference"
OBD = ROOT / "data" / "logs" / "open-bandit-dataset"


@pytest.fixture(scope="session")
def gbstats_reference() -> dict[str, Any]:
    return json.loads((REFERENCE / "gbstats.json").read_text())


@pytest.fixture(scope="session")
def obp_reference() -> dict[str, Any]:
    return json.loads((REFERENCE / "obp_ope.json").read_text())


@pytest.fixture(scope="session")
def obd_random() -> Path:
    return OBD / "random" / "all" / "all.csv"


def close(actual: float | None, expected: float, tol: float = 1e-6) -> bool:
    """Equal to ``tol`` absolutely, or relatively for large magnitudes."""
    return actual is not None and abs(actual - expected) <= tol * max(1.0, abs(expected))
