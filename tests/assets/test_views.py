"""The asset's public JSON shows an embedding's shape, not its 7 KB of base64."""

from __future__ import annotations

import numpy

from vitrina.assets.views import without_vector
from vitrina.search.vectors import encode_vector


def test_an_embedding_shows_its_shape_only() -> None:
    value = {"tags": [{"label": "tabby cat", "score": 0.5, "class_id": 281}],
             "embedding": encode_vector(numpy.ones(1280, dtype=numpy.float32))}
    shown = without_vector(value)
    assert shown == {"tags": value["tags"], "embedding": {"dim": 1280, "dtype": "float32"}}
    assert "data" in value["embedding"]  # the stored value is left as it was


def test_values_without_a_vector_pass_unchanged() -> None:
    for value in ({"hash": "ab"}, {"embedding": None, "chars": 0}, {}):
        assert without_vector(value) is value
