from __future__ import annotations

import json

import numpy
import pytest

from vitrina.analysis import Analyser
from vitrina.analysis.phash import PhashAnalyser
from vitrina.analysis.preview import PreviewAnalyser
from vitrina.errors import ConfigError, InvalidInput
from vitrina.testing import make_registries

ANALYSERS = list(make_registries().analysers)


def test_builtins_in_stable_order() -> None:
    registry = make_registries().analysers
    assert [a.name for a in registry] == ["blurhash", "phash", "colors", "quality", "focus"]
    for a in registry:
        assert isinstance(a, Analyser)
        assert isinstance(a.version, str) and a.version
        assert registry.get(a.name) is a


def test_duplicate_names_are_refused() -> None:
    registry = make_registries().analysers
    with pytest.raises(ConfigError, match="phash"):
        registry.add(PhashAnalyser())
    assert [a.name for a in registry].count("phash") == 1


def test_unknown_name_lists_the_known_ones() -> None:
    with pytest.raises(ConfigError) as err:
        make_registries().analysers.get("faces!")
    assert "faces!" in str(err.value) and "blurhash, phash, colors, quality, focus" in str(err.value)


class Mean(PreviewAnalyser):
    name, version = "mean", "1"

    def analyse(self, images):
        return [{"mean": float(im.mean())} for im in images]


def test_registry_keeps_registration_order_and_checks_shape() -> None:
    reg = make_registries(with_builtins=False).analysers
    reg.add(Mean())
    reg.add(PhashAnalyser())
    assert [a.name for a in reg] == ["mean", "phash"]
    with pytest.raises(ConfigError):
        reg.add(Mean())

    class NoVersion:
        name = "x"
        input, model, batch_size = Mean.input, None, 1

        def analyse(self, images):
            return []

    with pytest.raises(ConfigError, match="version"):
        reg.add(NoVersion())
    assert [a.name for a in make_registries().analysers][-1] == "focus"  # others' registries untouched


def test_batches_give_one_result_per_image_in_order(previews: dict) -> None:
    batch = [previews["astronaut.png"], previews["coffee.png"], previews["text.png"]]
    for a in ANALYSERS:
        together = a.analyse(batch)
        assert len(together) == 3
        assert together == [a.analyse([im])[0] for im in batch], a.name
        assert json.loads(json.dumps(together)) == together
        assert together[0] != together[1]
        assert a.analyse([]) == []


@pytest.mark.parametrize(
    "bad",
    [
        numpy.zeros((8, 8, 4), numpy.uint8),
        numpy.zeros((8, 8), numpy.uint8),
        numpy.zeros((8, 8, 3), numpy.float32),
        numpy.zeros((0, 8, 3), numpy.uint8),
    ],
    ids=["rgba", "grey", "float", "empty"],
)
def test_wrong_arrays_are_refused(bad: numpy.ndarray) -> None:
    for a in ANALYSERS:
        with pytest.raises(InvalidInput):
            a.analyse([bad])
