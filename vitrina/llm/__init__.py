"""Text generators behind one Protocol (decision 030): ``rules`` (no model, the
default), ``openai`` (any OpenAI-compatible server) and ``llama-cpp`` (a small local
model in this process, the optional ``llm`` extra).

The registry holds provider **classes** by name, each built from the settings' ``[llm]``
section and per-call overrides::

    generator = make_generator(runtime.registries, runtime.settings, "openai",
                               base_url="http://127.0.0.1:8080/v1")
"""

from __future__ import annotations

from typing import Any

from vitrina.llm.base import (
    Generated,
    LlmBadResponse,
    LlmError,
    LlmUnavailable,
    TextGenerator,
    prompt_sha256,
)

__all__ = ["Generated", "LlmBadResponse", "LlmError", "LlmUnavailable", "TextGenerator",
           "builtin_text_generators", "make_generator", "prompt_sha256"]


def builtin_text_generators() -> list[type]:
    from vitrina.llm.local import LlamaCppLocal
    from vitrina.llm.openai import OpenAICompatible
    from vitrina.llm.rules import RulesGenerator

    return [RulesGenerator, OpenAICompatible, LlamaCppLocal]


def make_generator(registries: Any, settings: Any, provider: str | None = None,
                   **overrides: Any) -> TextGenerator:
    """The provider named (default: ``settings.llm.provider``), configured from the
    settings with ``overrides`` (None values ignored) on top."""
    cls = registries.text_generators.get(provider or settings.llm.provider)
    return cls.configure(settings, **{k: v for k, v in overrides.items() if v is not None})
