from __future__ import annotations

import json

import numpy
import pytest

from vitrina import analysis
from vitrina.analysis import Analyser, all_analysers, get, register
from vitrina.analysis.base import Registry
from vitrina.analysis.phash import PhashAnalyser
from vitrina.errors import InvalidInput


def test_builtins_in_stable_order() -> None:
    assert [a.name for a in all_analysers()] == ["blurhash", "phash", "colors", "quality", "focus"]
    for a in all_analysers():
        assert isinstance(a, Analyser)
        assert isinstance(a.version, str) and a.version
        assert get(a.name) is a


def test_duplicate_names_are_refused() -> None:
    with pytest.raises(ValueError, match="phash"):
        register(PhashAnalyser())
    assert [a.name for a in all_analysers()].count("phash") == 1


def test_unknown_name_lists_the_known_ones() -> None:
    with pytest.raises(KeyError) as err:
        get("faces!")
    assert "faces!" in str(err.value) and "blurhash, phash, colors, quality, focus" in str(err.value)


class Mean:
    name, version = "mean", "1"

    def analyse(self, images):
        return [{"mean": float(im.mean())} for im in images]


def test_registry_keeps_registration_order_and_checks_shape() -> None:
    reg = Registry()
    reg.register(Mean())
    reg.register(PhashAnalyser())
    assert [a.name for a in reg.all()] == ["mean", "phash"]
    with pytest.raises(ValueError):
        reg.register(Mean())

    class NoVersion:
        name = "x"

        def analyse(self, images):
            return []

    with pytest.raises(TypeError, match="version"):
        reg.register(NoVersion())
    assert analysis.all_analysers()[-1].name == "focus"  # the global registry is untouched


def test_batches_give_one_result_per_image_in_order(previews: dict) -> None:
    batch = [previews["astronaut.png"], previews["coffee.png"], previews["text.png"]]
    for a in all_analysers():
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
    for a in all_analysers():
        with pytest.raises(InvalidInput):
            a.analyse([bad])
