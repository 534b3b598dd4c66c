"""The analyser contract: every registered analyser, on inputs its kind makes from
real files, gives one JSON-able result per item, in order, the same in any batch."""

from __future__ import annotations

import json

import pytest

from tests.contracts.conftest import REGISTRIES
from vitrina.pipeline.steps import StepContext

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
