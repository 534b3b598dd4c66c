"""Keywords for thin items: the rules provider on crafted items (exact keywords), the
line checks on crafted bad outputs (each with its reason), storage on the item,
skipping what is already done, dry runs, and `vitrina recs keywords`."""

from __future__ import annotations

import os

import pytest
from click.testing import CliRunner

from tests.conftest import make_settings
from vitrina.cli import main
from vitrina.llm.rules import RulesGenerator
from vitrina.recs.items import ItemService
from vitrina.recs.keywords import (
    KEYWORDS,
    SOURCE,
    KeywordWriter,
    check_keywords,
    is_thin,
    prompt_for,
)
from vitrina.storage.catalog.projects import DEFAULT_PROJECT as P
from vitrina.testing import make_runtime

ITEMS = [
    {"id": "shoe", "type": "product", "title": "Speedcross 6",
     "attributes": {"category": "trail running", "brand": "Salomon",
                    "tags": ["outdoor", "Hiking Boots"], "price": 130}},
    {"id": "cup", "type": "product", "title": "The espresso cup",
     "attributes": {"category": "Kitchen; Coffee"}},
    {"id": "bare", "type": "article", "title": "Espresso"},
    {"id": "long", "type": "article", "title": "A long read",
     "body": "This body has far more than twelve words in it, so the item is not thin at "
             "all and needs no keywords from anyone."},
]


@pytest.fixture
def service(tmp_path):
    rt = make_runtime(make_settings(tmp_path, f"sqlite:///{tmp_path / 'catalog.db'}"))
    items = ItemService.of(rt)
    items.upsert_many(P, ITEMS)
    yield items
    rt.close()


def test_rules_keywords_of_crafted_items_are_exact(service):
    summary = KeywordWriter(service, RulesGenerator()).run(P)
    by_id = {o.item_id: o for o in summary.outcomes}
    assert set(by_id) == {"shoe", "cup", "bare"}  # "long" is not thin
    # attributes first (sorted by name; phrases kept whole, numbers left out), then the
    # type; the title's own words are refused as title_only
    assert by_id["shoe"].keywords == ("salomon", "trail running", "outdoor", "hiking boots",
                                      "product")
    assert [(r.line, r.reason) for r in by_id["shoe"].rejected] == [("speedcross", "title_only")]
    assert by_id["cup"].keywords == ("kitchen", "coffee", "product")
    # nothing but the type and title words: the type alone survives
    assert by_id["bare"].keywords == ("article",)
    stored = service.get(P, "shoe").attributes
    assert stored[KEYWORDS] == list(by_id["shoe"].keywords)
    assert stored[SOURCE]["provider"] == "rules" and stored[SOURCE]["model"] == "rules-v1"
    assert stored["price"] == 130 and stored["category"] == "trail running"
    assert summary.counts()["written"] == 3


def test_the_same_provider_model_and_fields_are_skipped_and_an_edit_is_redone(service):
    writer = KeywordWriter(service, RulesGenerator())
    writer.run(P)
    before = service.get(P, "cup")
    again = writer.run(P)
    assert {o.status for o in again.outcomes} == {"fresh"}
    assert service.get(P, "cup").updated_at == before.updated_at
    service.upsert(P, "cup", {**before.content(), "attributes": {
        **before.attributes, "category": "tea"}})
    third = {o.item_id: o for o in writer.run(P).outcomes}
    assert third["cup"].status == "written" and third["cup"].keywords == ("tea", "product")
    assert third["shoe"].status == "fresh"


def test_dry_run_writes_nothing_and_limit_caps_the_items(service):
    summary = KeywordWriter(service, RulesGenerator()).run(P, dry_run=True, limit=2)
    assert [o.status for o in summary.outcomes] == ["would_write", "would_write"]
    assert all(KEYWORDS not in service.get(P, i["id"]).attributes for i in ITEMS)


def test_the_prompt_never_holds_the_keywords_it_produced(service):
    item = service.get(P, "shoe")
    KeywordWriter(service, RulesGenerator()).run(P)
    assert prompt_for(service.get(P, "shoe")) == prompt_for(item)
    assert "keywords_source" not in prompt_for(service.get(P, "shoe"))
    assert prompt_for(item).endswith("\nKeywords:")


def test_thin_is_title_and_body_words_below_the_threshold(service):
    assert is_thin(service.get(P, "bare"), 12)
    assert not is_thin(service.get(P, "long"), 12)
    assert is_thin(service.get(P, "long"), 100)


@pytest.mark.parametrize(("text", "kept", "reasons"), [
    ("", (), [("", "empty")]),
    ("\n  \n", (), [("\n  \n", "empty")]),
    ("a very long keyword that goes on\nsalsa", ("salsa",), ["too_long"]),
    ("four words in here\nsalsa dance", ("salsa dance",), ["too_long"]),
    ("x" * 40, (), ["too_long"]),
    ("<script>\nsalsa\nhttp://x.y", ("salsa",), ["bad_characters", "bad_characters"]),
    ("2024\nsalsa", ("salsa",), ["bad_characters"]),
    ("salsa\nSalsa\nsalsas\n- salsa.", ("salsa",), ["duplicate", "duplicate", "duplicate"]),
    ("nsfw pics\nsure\nsalsa\nkeywords", ("salsa",), ["blocked", "blocked", "blocked"]),
    ("Cuban\nnights, cuban\ncuban music", ("cuban music",), ["title_only"] * 3),
    ("1. salsa\n2) tango\n* waltz, rumba", ("salsa", "tango", "waltz", "rumba"), []),
])
def test_crafted_bad_outputs_are_refused_with_reasons(text, kept, reasons):
    checked = check_keywords(text, title="Cuban nights", max_keywords=8)
    assert checked.keywords == kept
    got = [(r.line, r.reason) for r in checked.rejected] if reasons and isinstance(reasons[0], tuple) \
        else [r.reason for r in checked.rejected]
    assert got == reasons


def test_at_most_max_keywords_are_kept():
    checked = check_keywords("\n".join(f"topic{c}" for c in "abcdefghij").replace("topic", "dance "),
                             title=None, max_keywords=3)
    assert checked.keywords == ("dance a", "dance b", "dance c")
    assert [r.reason for r in checked.rejected] == ["over_limit"] * 7


def test_cli_writes_keywords_and_reports_counts(monkeypatch, tmp_path):
    for name in [n for n in os.environ if n.startswith("VITRINA_")]:
        monkeypatch.delenv(name)
    env = {"VITRINA_DEV": "1", "VITRINA_DATA_DIR": str(tmp_path / "data")}
    runner = CliRunner()
    assert runner.invoke(main, ["db", "upgrade"], env=env).exit_code == 0
    rt = make_runtime(make_settings(tmp_path, f"sqlite:///{tmp_path / 'data' / 'catalog.db'}",
                                    data_dir=tmp_path / "data"))
    ItemService.of(rt).upsert_many(P, ITEMS)
    rt.close()
    dry = runner.invoke(main, ["recs", "keywords", "--dry-run"], env=env)
    assert dry.exit_code == 0, dry.output
    assert "would_write 3" in dry.output and "written 0" in dry.output
    done = runner.invoke(main, ["recs", "keywords", "--provider", "rules", "--limit", "2"], env=env)
    assert done.exit_code == 0, done.output
    assert "cup: kitchen, coffee, product" in done.output and "written 2" in done.output
    again = runner.invoke(main, ["recs", "keywords"], env=env)
    assert "fresh 2" in again.output and "written 1" in again.output
    bad = runner.invoke(main, ["recs", "keywords", "--provider", "nope"], env=env)
    assert bad.exit_code == 1 and "no text generator named 'nope'" in bad.output


def test_cli_names_an_unreachable_server(monkeypatch, tmp_path):
    import socket

    for name in [n for n in os.environ if n.startswith("VITRINA_")]:
        monkeypatch.delenv(name)
    env = {"VITRINA_DEV": "1", "VITRINA_DATA_DIR": str(tmp_path / "data"),
           "VITRINA_LLM__RETRIES": "0"}
    runner = CliRunner()
    assert runner.invoke(main, ["db", "upgrade"], env=env).exit_code == 0
    rt = make_runtime(make_settings(tmp_path, f"sqlite:///{tmp_path / 'data' / 'catalog.db'}",
                                    data_dir=tmp_path / "data"))
    ItemService.of(rt).upsert_many(P, ITEMS[:1])
    rt.close()
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    out = runner.invoke(main, ["recs", "keywords", "--provider", "openai", "--base-url",
                               f"http://127.0.0.1:{port}/v1", "--model", "m"], env=env)
    assert out.exit_code == 1
    assert "503 llm_unavailable" in out.output and f"127.0.0.1:{port}" in out.output
