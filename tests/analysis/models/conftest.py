from __future__ import annotations

import pytest

from tests.analysis.models.shared import Processed, processed_with_models


@pytest.fixture(scope="session")
def models() -> Processed:
    """The runtime with every model analyser on, its samples processed (once per process)."""
    return processed_with_models()
