"""The text-generation Protocol, its result and its errors (decision 030).

A provider turns a prompt into a short text. What it writes is never trusted as it
comes: the caller parses and checks it (``vitrina.recs.keywords``), and anything
trained on it reaches users only through an experiment.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, Protocol, runtime_checkable

from vitrina.errors import InvalidInput, VitrinaError

#: the longest prompt a provider accepts, in characters (the local model's context is
#: small, and a prompt is built from an item's bounded fields)
MAX_PROMPT_CHARS = 16_000
MAX_TOKENS = 1_024
MAX_STOPS = 4
#: how a server is asked: ``completions`` continues the prompt as raw text (what a base
#: model and a few-shot prompt want; every OpenAI-compatible server has it), ``chat``
#: sends it as a user message through the model's chat template
APIS = ("completions", "chat")


class LlmError(VitrinaError):
    """A text generator failed; the subclasses carry the stable codes."""

    status, code, report = 502, "llm_error", True


class LlmUnavailable(LlmError):
    """The server cannot be reached, keeps failing, or times out; or the local model
    cannot be loaded."""

    status, code, report = 503, "llm_unavailable", True


class LlmBadResponse(LlmError):
    """The server answered, but not with a completion this client understands."""

    status, code, report = 502, "llm_bad_response", True


@dataclass(frozen=True, slots=True)
class Generated:
    """One generation and what identifies it: the same provider, model, prompt and seed
    at temperature 0 give the same text."""

    text: str
    model: str
    provider: str
    prompt_sha256: str
    seed: int | None
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@runtime_checkable
class TextGenerator(Protocol):
    #: the provider's registered name (``rules``, ``openai``, ``llama-cpp``)
    name: str
    #: the model it runs, as the provider names it
    model: str

    def generate(self, prompt: str, *, system: str | None = None, max_tokens: int = 64,
                 temperature: float = 0.0, seed: int | None = 0,
                 stop: Sequence[str] | None = None) -> Generated:
        """The text after ``prompt``, at most about ``max_tokens`` long, cut before the
        first of the ``stop`` strings."""
        ...


def prompt_sha256(prompt: str, system: str | None = None) -> str:
    """What identifies a prompt: the system text and the prompt, hashed together."""
    return hashlib.sha256(f"{system or ''}\x00{prompt}".encode()).hexdigest()


def check_request(prompt: Any, system: Any, max_tokens: Any, temperature: Any,
                  stop: Any = None) -> list[str]:
    """The same argument checks for every provider, before any work; the stop list."""
    if not isinstance(prompt, str) or not prompt.strip():
        raise InvalidInput("a prompt is a non-empty string", code="llm_invalid_request")
    if system is not None and not isinstance(system, str):
        raise InvalidInput("system is a string or None", code="llm_invalid_request")
    if len(prompt) + len(system or "") > MAX_PROMPT_CHARS:
        raise InvalidInput(f"a prompt is at most {MAX_PROMPT_CHARS} characters",
                           code="llm_invalid_request", details={"chars": len(prompt)})
    if isinstance(max_tokens, bool) or not isinstance(max_tokens, int) \
            or not 1 <= max_tokens <= MAX_TOKENS:
        raise InvalidInput(f"max_tokens is an integer within 1..{MAX_TOKENS}",
                           code="llm_invalid_request", details={"max_tokens": repr(max_tokens)})
    if isinstance(temperature, bool) or not isinstance(temperature, (int, float)) \
            or not 0.0 <= temperature <= 2.0:
        raise InvalidInput("temperature is a number within 0..2", code="llm_invalid_request",
                           details={"temperature": repr(temperature)})
    stops = [] if stop is None else stop
    if isinstance(stops, str) or not isinstance(stops, Sequence) or len(stops) > MAX_STOPS or \
            not all(isinstance(x, str) and x for x in stops):
        raise InvalidInput(f"stop is a list of at most {MAX_STOPS} non-empty strings",
                           code="llm_invalid_request")
    return list(stops)


def full_prompt(prompt: str, system: str | None) -> str:
    """A raw completion's text: the system text, if any, as the first paragraph."""
    return f"{system}\n\n{prompt}" if system else prompt


def cut(text: str, stops: Sequence[str]) -> str:
    """``text`` up to the first stop string (a provider that cannot stop early)."""
    ends = [i for i in (text.find(x) for x in stops) if i >= 0]
    return text[:min(ends)] if ends else text
