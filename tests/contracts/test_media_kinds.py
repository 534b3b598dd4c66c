"""The media kind contract: every registered kind passes it on real files."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.contracts.conftest import REGISTRIES, samples_of
from vitrina.errors import VitrinaError
from vitrina.media.sniff import SNIFF_BYTES
from vitrina.pipeline.dag import Pipelines
from vitrina.pipeline.steps import Facts
from vitrina.storage.catalog.models import Asset, StepRun

KINDS = REGISTRIES.kinds.names()


@pytest.fixture(params=KINDS)
def kind(request):
    return REGISTRIES.kinds.get(request.param)


def head(path) -> bytes:
    with open(path, "rb") as f:
        return f.read(SNIFF_BYTES)


def test_identity_and_declarations(kind):
    assert isinstance(kind.name, str) and kind.name == kind.name.lower()
    assert kind.suffixes and all(s.startswith(".") and s == s.lower() for s in kind.suffixes)
    own = {s.name for s in Pipelines(REGISTRIES).steps(kind.name)}
    assert kind.probe_step is None or kind.probe_step in own
    assert all(step.kind == kind.name for step in kind.steps())
    # an input may wait for another input's analysis step (the text after OCR's page)
    analysed = {i.step for i in kind.inputs()}
    assert all(i.kind == kind.name and set(i.requires) <= own | analysed for i in kind.inputs())


def test_sniffs_its_own_files_and_no_others(kind, tmp_path):
    good, _ = samples_of(kind.name, tmp_path)
    for path in good:
        media = kind.sniff(head(path))
        assert media is not None and media.kind == kind.name and "/" in media.mime
    for other in KINDS:
        if other != kind.name:
            for path in samples_of(other, tmp_path)[0]:
                assert kind.sniff(head(path)) is None, (kind.name, path.name)
    assert kind.sniff(b"\x00garbage that no format starts with\x00" * 2) is None


def test_validates_good_files_and_refuses_a_bad_one_with_a_4xx(kind, tmp_path, settings):
    good, bad = samples_of(kind.name, tmp_path)
    for path in good:
        facts = kind.validate(path, kind.sniff(head(path)), settings)
        assert facts is None or isinstance(facts, Facts)
    with pytest.raises(VitrinaError) as refused:
        kind.validate(bad, kind.sniff(head(bad)) or kind.sniff(head(good[0])), settings)
    assert 400 <= refused.value.status < 500 and refused.value.code


def test_samples_go_through_the_whole_pipeline(processed):
    rt, ids = processed
    with rt.sessions() as s:
        for kind, asset_ids in ids.items():
            for asset_id in asset_ids:
                asset = s.get(Asset, asset_id)
                runs = s.scalars(select(StepRun).where(StepRun.asset_id == asset_id)).all()
                assert (asset.kind, asset.status) == (kind, "ready")
                assert {r.step for r in runs} == {st.name for st in rt.pipelines.steps(kind)}
                assert {r.state for r in runs} == {"done"}
