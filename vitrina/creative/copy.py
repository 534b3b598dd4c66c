"""Text variants (headline, subline, call to action) for an item, and the checks every
line passes before it is used (decision 035).

Providers write candidates; nothing they write is trusted: :func:`checked_variants`
runs :func:`check_line` on every line and drops a variant with any failing line,
keeping its reasons. ``RulesCopy`` (the default) fills fixed patterns from the item's
attributes; ``LlmCopy`` asks a ``vitrina.llm`` text generator for the headline.

An item is a ``vitrina.recs.items.Item`` or a mapping with ``title`` and
``attributes``; the attributes read are ``price`` (a number), ``currency`` (ISO 4217,
else the rules' default), ``discount`` (percent off, 0 < d < 100), ``brand`` and
``category``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any, Protocol, runtime_checkable

from vitrina.errors import InvalidInput
from vitrina.llm.base import LlmBadResponse, TextGenerator, prompt_sha256

SLOTS = ("headline", "subline", "cta")
EMPTY, TOO_LONG, FORBIDDEN_WORD = "empty", "too_long", "forbidden_word"
UNSUPPORTED_CLAIM, PRICE_MISMATCH, DISCOUNT_MISMATCH = \
    "unsupported_claim", "price_mismatch", "discount_mismatch"
DUPLICATE = "duplicate"
#: claims an ad may make only when the brand kit allows them (they need evidence)
CLAIMS = ("best", "free", "#1", "number one", "guaranteed", "guarantee", "cheapest",
          "lowest price", "risk-free", "miracle", "cure", "clinically proven")
#: currency symbols and the ISO codes they may stand for; ``$`` is every dollar
SYMBOLS = {"$": ("USD", "CAD", "AUD", "NZD", "SGD", "HKD", "MXN"), "€": ("EUR",),
           "£": ("GBP",), "¥": ("JPY", "CNY"), "₹": ("INR",), "₩": ("KRW",), "zł": ("PLN",)}
#: currencies written without minor units
NO_MINOR = {"JPY", "KRW", "CLP", "ISK", "HUF"}


class InvalidCopyInput(InvalidInput):
    code = "copy_invalid_input"


@dataclass(frozen=True)
class CopyRules:
    """What a brand kit asks of every line (its ``forbidden_words`` and ``allowed_claims``)."""

    max_chars: Mapping[str, int] = field(default_factory=lambda: {
        "headline": 40, "subline": 90, "cta": 20})
    forbidden_words: tuple[str, ...] = ()
    allowed_claims: tuple[str, ...] = ()
    #: the item's currency when its attributes name none
    currency: str = "USD"

    @classmethod
    def from_kit(cls, kit: Any, **overrides: Any) -> CopyRules:
        return cls(**{"forbidden_words": tuple(kit.forbidden_words),
                      "allowed_claims": tuple(kit.allowed_claims), **overrides})


@dataclass(frozen=True)
class TextVariant:
    headline: str
    subline: str
    cta: str
    #: who wrote it: provider, model, prompt_sha256, seed
    source: dict[str, Any]

    def lines(self) -> dict[str, str]:
        return {"headline": self.headline, "subline": self.subline, "cta": self.cta}

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Dropped:
    variant: TextVariant
    #: slot -> reason codes
    reasons: dict[str, list[str]]

    def to_dict(self) -> dict[str, Any]:
        return {"variant": self.variant.to_dict(), "reasons": self.reasons}


@dataclass(frozen=True)
class CopyResult:
    kept: list[TextVariant]
    dropped: list[Dropped]

    def to_dict(self) -> dict[str, Any]:
        return {"kept": [v.to_dict() for v in self.kept],
                "dropped": [d.to_dict() for d in self.dropped]}


@runtime_checkable
class CopyProvider(Protocol):
    name: str

    def variants(self, item: Any, brand_rules: CopyRules, n: int) -> list[TextVariant]:
        """Up to ``n`` candidate variants, unchecked."""
        ...


# -- the item ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Facts:
    """What copy may say about an item, read and checked once."""

    title: str
    category: str | None
    brand: str | None
    currency: str
    price: Decimal | None
    discount: Decimal | None  # percent off

    @property
    def sale_price(self) -> Decimal | None:
        if self.price is None or self.discount is None:
            return None
        return _round(self.price * (100 - self.discount) / 100, self.currency)

    def to_dict(self) -> dict[str, Any]:
        return {k: (str(v) if isinstance(v, Decimal) else v) for k, v in asdict(self).items()}


def _round(amount: Decimal, currency: str) -> Decimal:
    unit = Decimal(1) if currency in NO_MINOR else Decimal("0.01")
    return amount.quantize(unit, rounding=ROUND_HALF_UP)


def _number(value: Any, what: str) -> Decimal | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, str, Decimal)):
        raise InvalidCopyInput(f"the item's {what} is a number", details={"field": what})
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise InvalidCopyInput(f"the item's {what} is a number", details={"field": what}) from None
    if not number.is_finite() or number < 0:
        raise InvalidCopyInput(f"the item's {what} is a finite number >= 0", details={"field": what})
    return number


#: the item fields copy reads
FIELDS = ("price", "currency", "discount", "brand", "category")


def facts(item: Any, rules: CopyRules) -> Facts:
    if isinstance(item, Mapping):
        title, attributes = item.get("title"), item.get("attributes") or {}
    else:
        title, attributes = getattr(item, "title", None), getattr(item, "attributes", None) or {}
    if not isinstance(title, str) or not title.strip():
        raise InvalidCopyInput("an item needs a title to write copy for", details={"field": "title"})
    if not isinstance(attributes, Mapping):
        raise InvalidCopyInput("the item's attributes are an object", details={"field": "attributes"})
    if isinstance(item, Mapping):  # the renderer's item: the same fields at the top level
        attributes = {**attributes, **{k: item[k] for k in FIELDS if item.get(k) is not None}}
    currency = attributes.get("currency") or rules.currency
    if not isinstance(currency, str) or not re.fullmatch(r"[A-Z]{3}", currency):
        raise InvalidCopyInput(f"currency is an ISO 4217 code, got {currency!r}",
                               details={"field": "currency"})
    price = _number(attributes.get("price"), "price")
    discount = _number(attributes.get("discount"), "discount")
    if discount is not None and not 0 < discount < 100:
        raise InvalidCopyInput("discount is a percentage above 0 and below 100",
                               details={"field": "discount"})

    def text(key: str) -> str | None:
        value = attributes.get(key)
        return " ".join(value.split()) if isinstance(value, str) and value.strip() else None

    return Facts(" ".join(title.split()), text("category"), text("brand"), currency,
                 None if price is None else _round(price, currency), discount)


def format_price(amount: Decimal, currency: str) -> str:
    """``$19.99``, ``€5``, ``¥1200``; a currency without a symbol here: ``19.99 CHF``."""
    text = f"{amount:,.0f}" if currency in NO_MINOR or amount == amount.to_integral() \
        else f"{amount:,.2f}"
    symbol = next((s for s, codes in SYMBOLS.items() if codes[0] == currency), None)
    return f"{symbol}{text}" if symbol else f"{text} {currency}"


# -- checks ------------------------------------------------------------------------------

_AMOUNT = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?"
_SYMBOL = "|".join(re.escape(s) for s in sorted(SYMBOLS, key=len, reverse=True))
_PRICE = re.compile(
    rf"(?P<pre>{_SYMBOL}|\b[A-Z]{{3}}\b)\s?(?P<a>{_AMOUNT})"
    rf"|(?P<b>{_AMOUNT})\s?(?P<post>{_SYMBOL}|\b[A-Z]{{3}}\b)"
    rf"|(?<![\w.,])(?P<c>\d+\.\d{{2}})(?![\w%])")
#: a percentage said as a discount: ``20% off``, ``-20%``, ``save 20%``, ``up to 20%``
_PERCENT = re.compile(r"(?:(?<![\w])-\s?|\bsave\s|\bup to\s)(\d+(?:\.\d+)?)\s?%"
                      r"|(\d+(?:\.\d+)?)\s?%\s?off\b", re.IGNORECASE)


def _phrase(word: str) -> re.Pattern[str]:
    """A word or phrase on word boundaries, case-insensitive; a hyphen joins words, so
    ``free`` is not found in ``gluten-free``."""
    return re.compile(rf"(?<![\w-]){re.escape(word)}(?![\w-])", re.IGNORECASE)


#: ISO codes read as a currency next to a number (any other three capitals, as in
#: ``NEW 2``, are a word)
ISO_CODES = {c for codes in SYMBOLS.values() for c in codes} | {"CHF", "SEK", "NOK", "DKK", "CZK"}


def _prices_ok(line: str, f: Facts) -> bool:
    """Every price in ``line`` is the item's price or sale price, in its currency."""
    allowed = {p for p in (f.price, f.sale_price) if p is not None}
    for m in _PRICE.finditer(line):
        mark = m.group("pre") or m.group("post")
        amount = m.group("a") or m.group("b") or m.group("c")
        if mark and mark.isalpha() and mark not in ISO_CODES | {f.currency}:
            if not re.fullmatch(r"\d+\.\d{2}", amount):
                continue  # a word and a count, not a price
            mark = None
        if mark is None and amount in f.title:
            continue  # a measure the title itself gives (``Cable 2.50 m``)
        if mark and f.currency not in SYMBOLS.get(mark, (mark,)):
            return False
        if _round(Decimal(amount.replace(",", "")), f.currency) not in allowed:
            return False
    return True


def check_line(line: Any, item: Any, rules: CopyRules, slot: str = "headline") -> list[str]:
    """The reason codes ``line`` fails with, in a fixed order (empty list: usable).
    ``item`` is an item or its :class:`Facts`."""
    if slot not in SLOTS:
        raise InvalidCopyInput(f"slot is one of {', '.join(SLOTS)}", details={"slot": slot})
    f = item if isinstance(item, Facts) else facts(item, rules)
    if not isinstance(line, str) or not line.strip():
        return [EMPTY]
    reasons = []
    if len(line) > rules.max_chars.get(slot, 10**6):
        reasons.append(TOO_LONG)
    if any(_phrase(w).search(line) for w in rules.forbidden_words):
        reasons.append(FORBIDDEN_WORD)
    # an allowed claim is a phrase (``free shipping``): taken out before the claims are sought
    claimable = line
    for phrase in rules.allowed_claims:
        claimable = _phrase(phrase).sub(" ", claimable)
    if any(_phrase(c).search(claimable) for c in CLAIMS):
        reasons.append(UNSUPPORTED_CLAIM)
    if not _prices_ok(line, f):
        reasons.append(PRICE_MISMATCH)
    percents = {Decimal(a or b) for a, b in _PERCENT.findall(line)}
    if percents and percents != {f.discount}:
        reasons.append(DISCOUNT_MISMATCH)
    return reasons


def checked_variants(provider: CopyProvider, item: Any, rules: CopyRules, n: int) -> CopyResult:
    """The provider's candidates, each line checked: variants with a failing line (or
    a repeat of an earlier headline) are dropped with their reasons."""
    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= 20:
        raise InvalidCopyInput("n is an integer within 1..20", details={"n": repr(n)})
    f = facts(item, rules)
    kept, dropped, seen = [], [], set()
    for variant in provider.variants(item, rules, n):
        reasons = {slot: r for slot, line in variant.lines().items()
                   if (r := check_line(line, f, rules, slot))}
        key = " ".join(variant.headline.casefold().split())
        if key in seen and "headline" not in reasons:
            reasons["headline"] = [DUPLICATE]
        seen.add(key)
        if reasons:
            dropped.append(Dropped(variant, reasons))
        else:
            kept.append(variant)
    return CopyResult(kept, dropped)


# -- providers ---------------------------------------------------------------------------

#: headline patterns, tried in this order; a pattern needing a fact the item lacks is skipped
HEADLINES = (
    ("title", "{title}"),
    ("discount", "{title}: {discount}% off"),
    ("brand", "{brand} {title}"),
    ("price", "{title} for {price}"),
    ("category", "New in {category}: {title}"),
    ("sale", "Now {sale_price}: {title}"),
)
SUBLINES = (
    ("sale", "Was {price}, now {sale_price}"),
    ("price", "Yours for {price}"),
    ("brand_category", "{category} by {brand}"),
    ("category", "Discover more in {category}"),
    ("plain", "Take a closer look"),
)
CTAS = ("Shop now", "See more", "Buy now", "Take a look")


def _fill(pattern: str, f: Facts) -> str | None:
    values = {"title": f.title, "brand": f.brand, "category": f.category,
              "price": f.price is not None and format_price(f.price, f.currency),
              "sale_price": f.sale_price is not None and format_price(f.sale_price, f.currency),
              "discount": f.discount is not None and f"{f.discount.normalize():f}"}
    needed = re.findall(r"{(\w+)}", pattern)
    if any(not values[k] for k in needed):
        return None
    if "{brand}" in pattern and "{title}" in pattern and f.brand.casefold() in f.title.casefold():
        return None  # the title already says the brand
    line = pattern.format(**values)
    return line[0].upper() + line[1:]  # a category leads a line lower-cased


class RulesCopy:
    """Fixed patterns over the item's facts: deterministic, can only say what the item
    says. Variant ``i`` takes the ``i``-th headline pattern that applies, and sublines
    and calls to action in turn."""

    name = "rules"
    model = "rules-copy-v1"

    def sublines(self, f: Facts) -> list[str]:
        return [s for _, p in SUBLINES if (s := _fill(p, f))]

    def variants(self, item: Any, brand_rules: CopyRules, n: int) -> list[TextVariant]:
        f = facts(item, brand_rules)
        heads = [(name, h) for name, p in HEADLINES if (h := _fill(p, f))]
        subs = self.sublines(f)
        out = []
        for i, (name, headline) in enumerate(heads[:n]):
            recipe = json.dumps({"headline": name, "subline": i % len(subs), "cta": i % len(CTAS),
                                 "facts": f.to_dict()}, sort_keys=True)
            out.append(TextVariant(headline, subs[i % len(subs)], CTAS[i % len(CTAS)],
                                   {"provider": self.name, "model": self.model,
                                    "prompt_sha256": prompt_sha256(recipe), "seed": None}))
        return out


#: the headline prompt: worked examples, then the item, continued as raw text (what a
#: small base model follows best, decision 030)
INSTRUCTION = "Short advertising headlines for catalogue items, at most 6 words."
EXAMPLES = (("Item: Cast iron skillet\ncategory: kitchen", "Sear, bake and braise in one pan"),
            ("Item: Wool scarf\ncategory: accessories", "Warm days start with wool"))


def headline_prompt(f: Facts) -> str:
    lines = [f"Item: {f.title}"] + [f"{k}: {v}" for k, v in
                                     (("brand", f.brand), ("category", f.category)) if v]
    shots = [f"{item}\nHeadline: {answer}" for item, answer in EXAMPLES]
    return "\n\n".join([INSTRUCTION, *shots, "\n".join(lines) + "\nHeadline:"])


class LlmCopy:
    """Headlines from a text generator (one line each, seeds 0..n-1; temperature 0 for
    the first, 0.8 after, so each seed can differ), with the rules' sublines and calls
    to action: what the model writes is the part worth varying, and the part with the
    price stays exact."""

    name = "llm"

    def __init__(self, generator: TextGenerator, *, temperature: float = 0.8) -> None:
        if not isinstance(generator, TextGenerator):
            raise InvalidCopyInput("LlmCopy wraps a vitrina.llm TextGenerator")
        self.generator, self.temperature = generator, temperature
        self.rules = RulesCopy()

    @classmethod
    def from_registry(cls, registries: Any, settings: Any, provider: str | None = None,
                      **overrides: Any) -> LlmCopy:
        from vitrina.llm import make_generator

        return cls(make_generator(registries, settings, provider, **overrides))

    def variants(self, item: Any, brand_rules: CopyRules, n: int) -> list[TextVariant]:
        f = facts(item, brand_rules)
        prompt = headline_prompt(f)
        subs = self.rules.sublines(f)
        out = []
        for seed in range(n):
            got = self.generator.generate(prompt, max_tokens=24, seed=seed, stop=["\n"],
                                          temperature=0.0 if seed == 0 else self.temperature)
            if not isinstance(got.text, str):
                raise LlmBadResponse("the text generator gave no text")
            headline = got.text.strip().strip('"').strip()
            out.append(TextVariant(headline, subs[seed % len(subs)], CTAS[seed % len(CTAS)],
                                   {"provider": got.provider, "model": got.model,
                                    "prompt_sha256": got.prompt_sha256, "seed": got.seed}))
        return out
