"""Topic keywords for items with thin text, written by a text generator and checked
line by line before they land on the item (decision 030).

An item whose title and body hold fewer than ``min_words`` words gives the content
model little to go on. The generator is asked, with one fixed prompt, for 3 to 8 short
keywords; each line is cleaned and checked (length, characters, duplicates, blocked
words, words the title already has), at most ``max_keywords`` are kept, and they are
stored as ``attributes["keywords"]`` with ``attributes["keywords_source"] = {provider,
model, prompt_sha256}``. The prompt is made from the item's fields (never from its
keywords), so an item keyworded by the same provider and model from the same fields is
skipped, and an edited one is done again.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from vitrina.errors import VitrinaError
from vitrina.llm.base import LlmUnavailable, TextGenerator, prompt_sha256
from vitrina.recs.items import ItemRecord, ItemService

MIN_WORDS = 12
MAX_KEYWORDS = 8
#: a keyword: at most this many characters and words
MAX_CHARS, MAX_WORDS = 32, 3
#: tokens the generator may spend: eight short keywords, about four tokens each with the comma
MAX_TOKENS = 32
KEYWORDS, SOURCE = "keywords", "keywords_source"
#: body characters put in the prompt (a thin item's body is short anyway)
BODY_CHARS = 600

#: two worked examples, then the item, to be continued as raw text: a small base model
#: copies the examples' form far more reliably than it follows an instruction
INSTRUCTION = "Topic keywords of catalogue items."
EXAMPLES = (("Item: Cast iron skillet\ntype: product\ncategory: kitchen",
             "cookware, frying pan, cast iron"),
            ("Item: Wool scarf\ntype: product", "winter clothing, knitwear, accessories"))
#: the answer is one line
STOP = ("\n",)
#: words that show the model talking instead of labelling, or topics never wanted
BLOCKED_WORDS = frozenset({
    "keyword", "keywords", "topic", "topics", "item", "items", "title", "sure", "here",
    "answer", "sorry", "cannot", "unknown", "none", "assistant", "user", "example",
    "lower", "case", "numbering", "line", "lines", "now", "this", "that",
    "porn", "porno", "nsfw", "xxx", "nude", "nudity", "sex", "sexy",
})

_BULLET = re.compile(r"^\s*(?:[-*\u2022>#]+|\d{1,2}[.):]|[a-h][.)])\s*")
_KEYWORD = re.compile(r"[^\W\d_][\w&'\- ]*", re.UNICODE)
_WORD = re.compile(r"[^\W_]+", re.UNICODE)


@dataclass(frozen=True, slots=True)
class Rejected:
    line: str
    #: empty, too_long, bad_characters, duplicate, blocked, example, title_only, over_limit
    reason: str


@dataclass(frozen=True, slots=True)
class Checked:
    keywords: tuple[str, ...]
    rejected: tuple[Rejected, ...]


def _words(text: str | None) -> list[str]:
    return [w.lower() for w in _WORD.findall(text or "")]


def is_thin(item: ItemRecord, min_words: int = MIN_WORDS) -> bool:
    """Fewer than ``min_words`` words in the title and body together."""
    return len(_words(item.title)) + len(_words(item.body)) < min_words


def _attribute_lines(attributes: dict[str, Any]) -> list[str]:
    lines = []
    for key in sorted(attributes):
        if key in (KEYWORDS, SOURCE) or not re.fullmatch(r"[A-Za-z][A-Za-z_-]{0,31}", key):
            continue
        value = attributes[key]
        if isinstance(value, list):
            value = ", ".join(str(v) for v in value if isinstance(v, (str, int, float)))
        if isinstance(value, str) and value.strip():
            lines.append(f"{key}: {' '.join(value.split())[:200]}")
    return lines


def prompt_for(item: ItemRecord) -> str:
    """The fixed prompt: the instruction and the examples, then, as its last paragraph,
    the item's title, type, string attributes and the start of its body, one
    ``field: value`` line each (whitespace collapsed, so no blank line inside), and
    ``Keywords:`` for the generator to continue."""
    lines = [INSTRUCTION, ""]
    for fields, answer in EXAMPLES:
        lines += [fields, f"Keywords: {answer}", ""]
    if item.title and item.title.strip():
        lines.append(f"Item: {' '.join(item.title.split())}")
    lines.append(f"type: {item.type}")
    lines += _attribute_lines(item.attributes)
    if item.body and item.body.strip():
        lines.append(f"text: {' '.join(item.body.split())[:BODY_CHARS]}")
    return "\n".join([*lines, "Keywords:"])


def _singular(word: str) -> str:
    return word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word


def check_keywords(text: str, *, title: str | None, max_keywords: int = MAX_KEYWORDS,
                   blocked: Iterable[str] = BLOCKED_WORDS) -> Checked:
    """Each line (or comma-separated part) of the answer's first paragraph cleaned and
    checked (what follows a blank line is the model running on, never read); the first
    ``max_keywords`` good ones kept, every other one with its reason. A line copied from
    the prompt's example is refused as ``example``."""
    blocked = frozenset(blocked)
    copied = {k.strip() for _, answer in EXAMPLES for k in answer.split(",")}
    title_words = {_singular(w) for w in _words(title)}
    kept: list[str] = []
    seen: set[str] = set()
    rejected: list[Rejected] = []
    answer = re.split(r"\n\s*\n", (text or "").strip())[0]
    parts = [p for line in answer.splitlines() for p in re.split(r"[,;]", line)]
    if not any(p.strip() for p in parts):
        return Checked((), (Rejected(text or "", "empty"),))
    for raw in parts:
        if not raw.strip():
            continue
        line = _BULLET.sub("", raw).strip().strip("\"'`*.:!").strip().lower()
        line = " ".join(line.split())
        words = _words(line)
        if not line:
            reason = "empty"
        elif len(line) > MAX_CHARS or len(line.split()) > MAX_WORDS:
            reason = "too_long"
        elif len(line) < 2 or not _KEYWORD.fullmatch(line):
            reason = "bad_characters"
        elif any(w in blocked for w in words):
            reason = "blocked"
        elif line in copied:
            reason = "example"
        elif (key := " ".join(_singular(w) for w in words)) in seen:
            reason = "duplicate"
        elif title_words and all(_singular(w) in title_words for w in words):
            reason = "title_only"
        elif len(kept) >= max_keywords:
            reason = "over_limit"
        else:
            seen.add(key)
            kept.append(line)
            continue
        rejected.append(Rejected(raw.strip(), reason))
    return Checked(tuple(kept), tuple(rejected))


@dataclass
class Outcome:
    item_id: str
    status: str  # written, would_write, fresh, rejected, failed
    keywords: tuple[str, ...] = ()
    rejected: tuple[Rejected, ...] = ()
    seconds: float = 0.0
    error: str | None = None


@dataclass
class Summary:
    outcomes: list[Outcome] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(1 for o in self.outcomes if o.status == status)

    def counts(self) -> dict[str, int]:
        return {s: self.count(s) for s in ("written", "would_write", "fresh", "rejected", "failed")}

    def seconds_per_call(self) -> float | None:
        timed = [o.seconds for o in self.outcomes if o.status not in ("fresh", "failed")]
        return sum(timed) / len(timed) if timed else None


def source_of(generator: TextGenerator, prompt: str) -> dict[str, str]:
    return {"provider": generator.name, "model": generator.model,
            "prompt_sha256": prompt_sha256(prompt)}


class KeywordWriter:
    """Keywords for one project's thin items from one generator."""

    def __init__(self, items: ItemService, generator: TextGenerator, *,
                 min_words: int = MIN_WORDS, max_keywords: int = MAX_KEYWORDS,
                 min_keywords: int = 1, seed: int = 0) -> None:
        if not 1 <= min_keywords <= max_keywords:
            raise ValueError("need 1 <= min_keywords <= max_keywords")
        self.items, self.generator = items, generator
        self.min_words, self.max_keywords, self.min_keywords = min_words, max_keywords, min_keywords
        self.seed = seed

    def thin_items(self, project: str) -> Iterator[ItemRecord]:
        cursor = None
        while True:
            page = self.items.list(project, limit=500, cursor=cursor)
            yield from (r for r in page.items if is_thin(r, self.min_words))
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    def is_fresh(self, item: ItemRecord) -> bool:
        """Already keyworded by this provider and model from the same fields."""
        stored = item.attributes.get(SOURCE)
        model = getattr(self.generator, "model", "")
        # a server's model may be learnt on the first call: compare what is known
        return isinstance(stored, dict) and model != "" and stored == source_of(
            self.generator, prompt_for(item))

    def keyword(self, project: str, item: ItemRecord, *, dry_run: bool = False) -> Outcome:
        """Generate, check and (unless ``dry_run``) store one item's keywords. A server
        that cannot be reached stops the run (LlmUnavailable); any other failure is
        this item's."""
        if self.is_fresh(item):
            return Outcome(item.id, "fresh", tuple(item.attributes.get(KEYWORDS) or ()))
        prompt = prompt_for(item)
        start = time.perf_counter()
        try:
            made = self.generator.generate(prompt, max_tokens=MAX_TOKENS, temperature=0.0,
                                           seed=self.seed, stop=list(STOP))
        except LlmUnavailable:
            raise
        except VitrinaError as exc:
            return Outcome(item.id, "failed", seconds=time.perf_counter() - start,
                           error=f"{exc.code}: {exc.message}")
        checked = check_keywords(made.text, title=item.title, max_keywords=self.max_keywords)
        if len(checked.keywords) < self.min_keywords:
            return Outcome(item.id, "rejected", checked.keywords, checked.rejected, made.seconds)
        outcome = Outcome(item.id, "would_write" if dry_run else "written", checked.keywords,
                          checked.rejected, made.seconds)
        if not dry_run:
            source = {"provider": made.provider, "model": made.model,
                      "prompt_sha256": made.prompt_sha256}
            data = {**item.content(), "attributes": {**item.attributes, KEYWORDS:
                                                     list(checked.keywords), SOURCE: source}}
            try:
                self.items.upsert(project, item.id, data)
            except VitrinaError as exc:  # e.g. attributes over their size limit
                outcome.status, outcome.error = "failed", f"{exc.code}: {exc.message}"
        return outcome

    def run(self, project: str, *, limit: int | None = None, dry_run: bool = False,
            wrap: Callable[[list[ItemRecord]], Iterable[ItemRecord]] = lambda xs: xs) -> Summary:
        """Every thin item of the project (the first ``limit`` of them), in id order."""
        todo = list(self.thin_items(project))
        if limit is not None:
            todo = todo[:limit]
        resolve = getattr(self.generator, "resolve_model", None)
        if todo and callable(resolve):
            resolve()  # the server's model known before the first item: fresh ones are skipped
        summary = Summary()
        for item in wrap(todo):
            summary.outcomes.append(self.keyword(project, item, dry_run=dry_run))
        return summary
