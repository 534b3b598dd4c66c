"""usearch then onnxruntime, in one process, ends it with a segmentation fault (usearch
2.26, onnxruntime 1.2x): a server that opens an HNSW index before its first OCR run
would die. vitrina.search.hnsw loads onnxruntime first; this holds it to that."""

from __future__ import annotations

import subprocess
import sys

import pytest

pytest.importorskip("onnxruntime")

SCRIPT = """
import numpy
from vitrina.search.hnsw import HnswIndex
index = HnswIndex(4)
index.add(["a"], numpy.ones((1, 4), dtype=numpy.float32))
import onnxruntime
from rapidocr_onnxruntime import RapidOCR
print(index.query(numpy.ones(4, dtype=numpy.float32), 1)[0][0], onnxruntime.get_device())
"""


def test_an_hnsw_index_then_onnxruntime_share_a_process() -> None:
    done = subprocess.run([sys.executable, "-c", SCRIPT], check=False, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, (done.returncode, done.stderr[-2000:])
    assert done.stdout.split() == ["a", "CPU"]
