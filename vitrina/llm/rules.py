"""``rules``: no model at all. Keywords are read from the ``field: value`` lines of the
prompt's last paragraph (the item's attributes, then its type and title; an example
above it is left alone), so the output is exactly
reproducible, costs nothing and can never invent a topic. It is the default provider:
a model has to earn its place against it (decision 030)."""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from typing import Any

from vitrina.llm.base import Generated, check_request, cut, prompt_sha256

#: ``field: value`` lines; the field is one word, so an instruction sentence never matches
_FIELD = re.compile(r"^\s*([A-Za-z][A-Za-z_-]{0,31})\s*:\s*(.*\S)\s*$")
#: fields that hold running text or the answer, not topics
_SKIPPED = {"text", "body", "keywords", "id", "description"}
#: after the attributes: the most generic, then what the title says (``item`` is the
#: keyword prompt's name for the title)
_LAST = ("type", "title", "item")
_WORD = re.compile(r"[^\W_][\w&'-]*", re.UNICODE)
_PARTS = re.compile(r"[,;/|]")
STOP_WORDS = frozenset({
    "a", "an", "and", "are", "as", "at", "be", "by", "for", "from", "has", "have", "in",
    "into", "is", "it", "its", "of", "on", "or", "our", "that", "the", "their", "this",
    "to", "was", "were", "will", "with", "your", "you", "new", "best", "top", "more",
    "most", "very", "just", "all", "any", "each", "per",
})


def _words(text: str) -> list[str]:
    return [w for w in (m.group(0).lower().strip("'-") for m in _WORD.finditer(text))
            if len(w) >= 3 and not w.isdigit() and w not in STOP_WORDS]


def keywords_of(prompt: str) -> list[str]:
    """The last paragraph's fields as keywords: each attribute value (a phrase of up to three
    words is kept whole), then the type, then the title's words; no repeats."""
    last = re.split(r"\n\s*\n", prompt.strip())[-1]
    fields = [(m.group(1).lower(), m.group(2)) for line in last.splitlines()
              if (m := _FIELD.match(line))]
    ordered = [f for f in fields if f[0] not in _SKIPPED and f[0] not in _LAST]
    ordered += [f for name in _LAST for f in fields if f[0] == name]
    out: list[str] = []
    for name, value in ordered:
        for part in _PARTS.split(value):
            words = _words(part)
            phrases = [" ".join(words)] if name not in ("title", "item") and 1 <= len(words) <= 3 \
                else words
            out.extend(p for p in phrases if p and p not in out)
    return out


class RulesGenerator:
    name = "rules"
    model = "rules-v1"

    def __init__(self, **_: Any) -> None:
        pass

    @classmethod
    def configure(cls, settings: Any = None, **overrides: Any) -> RulesGenerator:
        return cls()

    def generate(self, prompt: str, *, system: str | None = None, max_tokens: int = 64,
                 temperature: float = 0.0, seed: int | None = 0,
                 stop: Sequence[str] | None = None) -> Generated:
        stops = check_request(prompt, system, max_tokens, temperature, stop)
        start = time.perf_counter()
        lines, budget = [], max_tokens
        for keyword in keywords_of(prompt):
            cost = len(keyword.split()) + 1  # about a token a word, and the comma
            if cost > budget:
                break
            lines.append(keyword)
            budget -= cost
        # one line, comma-separated: the form the keyword prompt's examples answer in
        return Generated(cut(" " + ", ".join(lines), stops), self.model, self.name, prompt_sha256(prompt, system),
                         seed, time.perf_counter() - start)
