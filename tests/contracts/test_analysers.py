"""The analyser contract: every registered analyser, on inputs its kind makes from
real files, gives one JSON-able result per item, in order, the same in any batch."""

from __future__ import annotations

import json

import pytest

from tests.analysis.models.shared import FILES, processed_with_models
from tests.contracts.conftest import REGISTRIES
from vitrina.config import MODEL_ANALYSERS
from vitrina.pipeline.steps import StepContext
from vitrina.search.vectors import decode_vector

ANALYSERS = REGISTRIES.analysers.names()


@pytest.mark.parametrize("name", ANALYSERS)
def test_analyser_contract(processed, name):
    rt, ids = processed
    analyser = rt.registries.analysers.get(name)
    assert isinstance(analyser.version, str) and analyser.version
    assert analyser.model is None or "@" in analyser.model  # name@version
    assert analyser.batch_size >= 1
    offered = {i.name: i for i in rt.registries.kinds.get(analyser.input.kind).inputs()}
    assert offered.get(analyser.input.name) is analyser.input
    items = [analyser.input.load(StepContext(rt.asset_repository.snapshot(None, a), rt.store,
                                             rt.settings, attempt=1))
             for a in ids[analyser.input.kind]]
    together = analyser.analyse(items)
    assert len(together) == len(items) >= 3
    assert together == [analyser.analyse([item])[0] for item in items]
    assert json.loads(json.dumps(together)) == together
    assert together[0] != together[1]
    assert analyser.analyse([]) == []


# --- model analysers (decision 025) -------------------------------------------------
# They run on one runtime per test process with every model analyser on (each model is
# loaded once); a batched forward pass may differ from one by one in the last float
# bits, so floats and stored vectors are compared within a tolerance.


def close(a, b, tolerance: float = 2e-4) -> bool:
    """Equal, but floats within ``tolerance`` and stored vectors within 1e-5."""
    if isinstance(a, dict) and isinstance(b, dict):
        if {"dim", "dtype", "data"} <= a.keys():
            va, vb = decode_vector(a), decode_vector(b)
            return va.shape == vb.shape and bool(abs(va - vb).max(initial=0.0) <= 1e-5)
        return a.keys() == b.keys() and all(close(a[k], b[k], tolerance) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(close(x, y, tolerance) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) and isinstance(b, float):
        return abs(a - b) <= tolerance
    return a == b


@pytest.mark.parametrize("name", MODEL_ANALYSERS)
def test_model_analyser_contract(name):
    done = processed_with_models()
    rt = done.runtime
    analyser = rt.registries.analysers.get(name)
    assert isinstance(analyser.version, str) and analyser.version
    assert analyser.model and "@" in analyser.model  # name@version
    assert analyser.batch_size >= 1
    offered = {i.name: i for i in rt.registries.kinds.get(analyser.input.kind).inputs()}
    assert offered.get(analyser.input.name) is analyser.input
    items = [analyser.input.load(StepContext(rt.asset_repository.snapshot(None, done.ids[f]), rt.store,
                                             rt.settings, attempt=1))
             for f in FILES]
    together = analyser.analyse(items)
    assert len(together) == len(items) >= 3
    one_by_one = [analyser.analyse([item])[0] for item in items]
    assert all(close(a, b) for a, b in zip(together, one_by_one, strict=True))
    assert analyser.analyse([items[0]])[0] == one_by_one[0]  # the same call twice: the same answer
    assert json.loads(json.dumps(together)) == together
    assert together[0] != together[1]
    assert analyser.analyse([]) == []
    # what the pipeline stored is this analyser's answer, stamped with its model and version
    for f, value in zip(FILES, one_by_one, strict=True):
        stored = rt.asset_repository.snapshot(None, done.ids[f]).signals[name]
        assert (stored.producer, stored.version) == (analyser.model, analyser.version)
        assert close(dict(stored.value), value)
