"""The step contract: every step of every registered kind, run again on a processed
asset, gives a typed result whose blobs exist, and a retry writes the same keys."""

from __future__ import annotations

import pytest

from tests.contracts.conftest import REGISTRIES
from vitrina.pipeline.dag import Pipelines
from vitrina.pipeline.steps import StepContext, StepResult

STEPS = [(kind, step.name) for kind in REGISTRIES.kinds.names()
         for step in Pipelines(REGISTRIES).steps(kind)]


@pytest.mark.parametrize(("kind", "name"), STEPS, ids=[f"{k}/{n}" for k, n in STEPS])
def test_step_contract(processed, kind, name):
    rt, ids = processed
    step = rt.pipelines.step(kind, name)
    assert isinstance(step.version, str) and step.version
    assert step.budget_seconds is None or step.budget_seconds > 0
    assert set(step.requires) <= {s.name for s in rt.pipelines.steps(kind)}
    asset = rt.asset_repository.snapshot(None, ids[kind][0])
    first = step.run(StepContext(asset, rt.store, rt.settings, attempt=1))
    again = step.run(StepContext(asset, rt.store, rt.settings, attempt=2))
    assert isinstance(first, StepResult)
    for d in first.derivatives:
        assert rt.store.size(d.blob_key) == d.size_bytes > 0 and d.width > 0 and d.height > 0
    assert [d.blob_key for d in again.derivatives] == [d.blob_key for d in first.derivatives]
    assert [s.name for s in again.signals] == [s.name for s in first.signals]
    assert all(s.version for s in first.signals)
