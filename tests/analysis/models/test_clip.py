"""The joint image-text model slot: two small ONNX files built here (image: a mean of
each colour channel through a fixed matrix; text: a table lookup and a mean), loaded
from the configured paths, a known text landing nearest its image."""

from __future__ import annotations

from pathlib import Path

import numpy
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper
from pydantic import ValidationError

from tests.conftest import make_settings
from vitrina.analysis.models.clip import MEAN, STD, ClipAnalyser, encode_text
from vitrina.config import Settings
from vitrina.errors import ConfigError
from vitrina.search.vectors import decode_vector
from vitrina.testing import make_runtime

COLOURS = {"red": (220, 30, 30), "green": (30, 200, 40), "blue": (20, 40, 210)}
VOCAB = ["<pad>", "a", "photo", "of", "red", "green", "blue", "sky", "grass"]
SIZE = 32


def direction(rgb) -> numpy.ndarray:
    """Where the image model puts a plain picture of ``rgb``: its normalised channel means."""
    v = (numpy.asarray(rgb, numpy.float32) / 255 - MEAN) / STD
    return numpy.append(v, 0.0).astype(numpy.float32)


def save(model: onnx.ModelProto, path: Path) -> Path:
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


def image_model(path: Path) -> Path:
    x = helper.make_tensor_value_info("pixels", TensorProto.FLOAT, ["n", 3, SIZE, SIZE])
    y = helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["n", 4])
    w = numpy_helper.from_array(numpy.eye(3, 4, dtype=numpy.float32), "w")
    nodes = [helper.make_node("ReduceMean", ["pixels"], ["pooled"], axes=[2, 3], keepdims=0),
             helper.make_node("MatMul", ["pooled", "w"], ["embedding"])]
    graph = helper.make_graph(nodes, "image", [x], [y], [w])
    return save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), path)


def text_model(path: Path) -> Path:
    table = numpy.zeros((len(VOCAB), 4), numpy.float32)
    for word, rgb in (("red", COLOURS["red"]), ("green", COLOURS["green"]), ("blue", COLOURS["blue"]),
                      ("sky", COLOURS["blue"]), ("grass", COLOURS["green"])):
        table[VOCAB.index(word)] = direction(rgb)
    table[VOCAB.index("photo")] = [0, 0, 0, 0.3]  # a common word: a little off every colour
    x = helper.make_tensor_value_info("ids", TensorProto.INT64, ["n", "t"])
    y = helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["n", 4])
    nodes = [helper.make_node("Gather", ["table", "ids"], ["vectors"], axis=0),
             helper.make_node("ReduceMean", ["vectors"], ["embedding"], axes=[1], keepdims=0)]
    graph = helper.make_graph(nodes, "text", [x], [y], [numpy_helper.from_array(table, "table")])
    return save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), path)


@pytest.fixture
def files(tmp_path) -> dict:
    vocab = tmp_path / "vocab.txt"
    vocab.write_text("\n".join(VOCAB) + "\n", "utf-8")
    return {"clip_image_model": image_model(tmp_path / "image.onnx"),
            "clip_text_model": text_model(tmp_path / "text.onnx"), "clip_vocab": vocab}


def plain(rgb, h=48, w=64) -> numpy.ndarray:
    return numpy.tile(numpy.asarray(rgb, numpy.uint8), (h, w, 1))


def test_a_known_text_lands_nearest_its_image(files, tmp_path):
    settings = make_settings(tmp_path, "sqlite://", analysis=files)
    rt = make_runtime(settings, migrate=False)
    analyser = rt.registries.analysers.get("clip")
    assert analyser.input.name == "preview" and "@" in analyser.model
    images = [plain(rgb) for rgb in COLOURS.values()]
    stored = analyser.analyse(images)
    vectors = numpy.stack([decode_vector(v["embedding"]) for v in stored])
    assert vectors.shape == (3, 4) and numpy.allclose(numpy.linalg.norm(vectors, axis=1), 1, atol=1e-6)
    assert numpy.allclose(vectors[0], direction(COLOURS["red"]) / numpy.linalg.norm(direction(COLOURS["red"])),
                          atol=1e-4)
    assert [analyser.analyse([im])[0] for im in images] == stored  # batches as one by one
    for query, colour in (("a photo of red", "red"), ("GRASS!", "green"), ("the sky", "blue")):
        q = encode_text(settings, query)
        assert q.shape == (4,) and abs(float(numpy.linalg.norm(q)) - 1) < 1e-6
        assert list(COLOURS)[int(numpy.argmax(vectors @ q))] == colour, query
    assert analyser.tokens("a photo of RED, sky")[0, :6].tolist() == [1, 2, 3, 4, 7, 0]


def test_without_files_there_is_no_clip(tmp_path):
    rt = make_runtime(make_settings(tmp_path, "sqlite://"), migrate=False)
    assert "clip" not in rt.registries.analysers
    with pytest.raises(ConfigError, match="analysis.clip_text_model"):
        encode_text(rt.settings, "red")
    with pytest.raises(ValidationError, match="clip_vocab"):
        Settings(dev=True, analysis={"clip_image_model": "a.onnx", "clip_text_model": "b.onnx"})


def test_a_missing_or_broken_file_is_refused_naming_the_setting(files, tmp_path):
    missing = files | {"clip_image_model": tmp_path / "nowhere.onnx"}
    with pytest.raises(ConfigError, match="analysis.clip_image_model") as err:
        make_runtime(make_settings(tmp_path, "sqlite://", analysis=missing), migrate=False)
    assert err.value.details["setting"] == "analysis.clip_image_model"
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(b"not a model at all")
    settings = make_settings(tmp_path, "sqlite://", analysis=files | {"clip_text_model": broken})
    analyser = ClipAnalyser(settings.analysis)  # boot checks the files exist; loading reads them
    with pytest.raises(ConfigError, match="analysis.clip_text_model: .*broken.onnx"):
        analyser.encode_text("red")
    wrong = files | {"clip_image_model": files["clip_text_model"]}  # takes ids, not pixels
    with pytest.raises(ConfigError, match="analysis.clip_image_model"):
        ClipAnalyser(make_settings(tmp_path, "sqlite://", analysis=wrong).analysis).analyse([plain((1, 2, 3))])
