"""Keyword scoring: BM25F over an asset's text fields, computed in Python (decision 027).

Each asset is one document made of fields with weights: what a person wrote counts
more than what a model guessed, and a tag or a title is denser than running text.
A term's frequency in a document is the weighted sum of its counts in the fields, the
document length the weighted sum of the fields' lengths, and the score the usual
BM25 of those (k1 1.2, b 0.75) with IDF taken over the candidates being ranked.

Terms are words: NFKC, case-folded, split on anything that is not a letter or a
digit, with a light English plural stripping (``cups`` finds ``cup``, ``boxes``
``box``) on both sides. No stop words: a query is short and the IDF already makes
frequent words cheap.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

#: field -> weight: the user's words first, a model's after, running OCR text last
FIELDS: Mapping[str, float] = {
    "title": 3.0,
    "user_tags": 3.0,
    "alt_text": 2.0,
    "model_tags": 1.5,
    "ocr": 1.0,
}
K1, B = 1.2, 0.75
MAX_QUERY_TERMS = 32
_WORD = re.compile(r"[^\W_]+")


def stem(word: str) -> str:
    """A light plural stripping, the same on both sides of a match."""
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 4 and word.endswith(("ses", "xes", "zes", "ches", "shes")):
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def terms(text: str | None) -> list[str]:
    """The terms of ``text``, in order, repeats kept."""
    if not text:
        return []
    return [stem(w) for w in _WORD.findall(unicodedata.normalize("NFKC", text).casefold())]


def query_terms(q: str) -> list[str]:
    """The distinct terms of a query, in order (at most :data:`MAX_QUERY_TERMS`)."""
    return list(dict.fromkeys(terms(q)))[:MAX_QUERY_TERMS]


@dataclass(frozen=True, slots=True)
class Document:
    """An asset's fields as terms."""

    id: str
    fields: Mapping[str, Counter[str]]
    length: float  # weighted

    @classmethod
    def of(cls, id_: str, texts: Mapping[str, Iterable[str | None]]) -> Document:
        fields = {}
        length = 0.0
        for name, parts in texts.items():
            counts: Counter[str] = Counter()
            for part in parts:
                counts.update(terms(part))
            if counts:
                fields[name] = counts
                length += FIELDS[name] * sum(counts.values())
        return cls(id_, fields, length)


@dataclass(frozen=True, slots=True)
class KeywordHit:
    id: str
    score: float
    matched: tuple[tuple[str, str], ...]  # (field, term), fields in FIELDS order


def score(documents: list[Document], q_terms: list[str]) -> list[KeywordHit]:
    """BM25F of every document holding at least one term, best first (ties: newest,
    i.e. the order of ``documents``)."""
    if not q_terms or not documents:
        return []
    n = len(documents)
    average = sum(d.length for d in documents) / n or 1.0
    df = Counter(t for d in documents for t in {t for c in d.fields.values() for t in c if t in q_terms})
    idf = {t: math.log(1 + (n - df[t] + 0.5) / (df[t] + 0.5)) for t in q_terms}
    hits = []
    for order, d in enumerate(documents):
        total, matched = 0.0, []
        for t in q_terms:
            tf = 0.0
            for name in FIELDS:
                count = d.fields.get(name, {}).get(t, 0)
                if count:
                    tf += FIELDS[name] * count
                    matched.append((name, t))
            if tf:
                total += idf[t] * tf * (K1 + 1) / (tf + K1 * (1 - B + B * d.length / average))
        if matched:
            hits.append((-total, order, KeywordHit(d.id, total, tuple(matched))))
    hits.sort(key=lambda h: (h[0], h[1]))
    return [h[2] for h in hits]
