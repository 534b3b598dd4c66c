"""The ``openai`` provider against a real llama.cpp server process: keywords for thin
items pass the checks and land on the items, a second run skips them, the manifest's
``llm`` entry names the server's model; the chat API answers too."""

from __future__ import annotations

import pytest

from tests.conftest import make_settings
from tests.llm.server import MODEL_ALIAS, gemma_model, llama_server
from vitrina.llm.openai import OpenAICompatible
from vitrina.recs.content_vectors import llm_of
from vitrina.recs.items import ItemService
from vitrina.recs.keywords import KEYWORDS, SOURCE, KeywordWriter, check_keywords
from vitrina.storage.catalog.projects import DEFAULT_PROJECT as P
from vitrina.testing import make_runtime

THIN = [{"id": "moka", "type": "product", "title": "Moka pot", "attributes": {"category": "kitchen"}},
        {"id": "shoes", "type": "product", "title": "Trail shoes"},
        {"id": "cups", "type": "product", "title": "Espresso cups"}]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    pytest.importorskip("llama_cpp", reason="llama-cpp-python (the llm extra) is not installed; "
                        "`make install` installs it")
    with llama_server(gemma_model(), tmp_path_factory.mktemp("llama") / "server.log") as base:
        yield base


def test_keywords_from_the_real_server_pass_the_checks_and_land_on_the_items(server, tmp_path):
    rt = make_runtime(make_settings(tmp_path, f"sqlite:///{tmp_path / 'catalog.db'}"))
    try:
        items = ItemService.of(rt)
        items.upsert_many(P, THIN + [{"id": "long", "type": "article", "title": "A long read",
                                      "body": "word " * 40}])
        generator = OpenAICompatible(server, timeout=300.0)
        summary = KeywordWriter(items, generator).run(P)
        assert sorted(o.item_id for o in summary.outcomes) == ["cups", "moka", "shoes"]
        assert summary.count("failed") == 0
        # a weak model: an answer may hold nothing usable, but most items get keywords
        written = [o for o in summary.outcomes if o.status == "written"]
        assert len(written) >= 2, [(o.item_id, o.status, o.rejected) for o in summary.outcomes]
        for o in written:
            stored = items.get(P, o.item_id).attributes
            assert stored[KEYWORDS] == list(o.keywords) and 1 <= len(o.keywords) <= 8
            title = next(x["title"] for x in THIN if x["id"] == o.item_id)
            # what landed passes the checks again, whole
            assert check_keywords(", ".join(o.keywords), title=title).keywords == o.keywords
            assert stored[SOURCE]["provider"] == "openai" and stored[SOURCE]["model"] == MODEL_ALIAS
            assert len(stored[SOURCE]["prompt_sha256"]) == 64
        print(f"\nopenai/llama.cpp server: {summary.seconds_per_call():.2f} s per keyword call")
        again = KeywordWriter(items, generator).run(P)
        assert {o.item_id for o in again.outcomes if o.status == "fresh"} == {o.item_id for o in written}
        records = [items.get(P, x["id"]) for x in THIN]
        assert llm_of(records) == {"provider": "openai", "model": MODEL_ALIAS}
    finally:
        rt.close()


def test_the_chat_api_of_the_real_server_answers(server):
    made = OpenAICompatible(server, model=MODEL_ALIAS, api="chat", timeout=300.0).generate(
        "Name one colour.", system="Answer with one word.", max_tokens=8, seed=1)
    assert made.text.strip() and made.model == MODEL_ALIAS and made.provider == "openai"
