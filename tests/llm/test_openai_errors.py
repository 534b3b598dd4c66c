"""How the ``openai`` provider meets a server that misbehaves: small real HTTP servers
on loopback answer 5xx then a completion (retried, with back-off), 5xx for good
(``llm_unavailable`` after every attempt), a 4xx, something that is not JSON or not a
completion (``llm_bad_response``, no retry), or too slowly (the timeout)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from vitrina.errors import ConfigError
from vitrina.llm import LlmBadResponse, LlmUnavailable
from vitrina.llm.openai import OpenAICompatible

COMPLETION = {"object": "text_completion", "model": "scripted",
              "choices": [{"index": 0, "text": " coffee, espresso", "finish_reason": "stop"}]}
Answer = tuple[int, bytes, float]  # status, body, seconds to wait first


@contextmanager
def scripted(answers: Callable[[int, str, dict], Answer]) -> Iterator[tuple[str, list]]:
    """A threaded HTTP server answering the n-th request with ``answers(n, path, body)``;
    yields its API root and the requests it saw."""
    seen: list[tuple[str, dict]] = []

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            body = json.loads(self.rfile.read(length) or b"{}")
            seen.append((self.path, body))
            status, data, wait = answers(len(seen), self.path, body)
            time.sleep(wait)
            try:
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up first (the timeout test)

        do_GET = do_POST = _answer

        def log_message(self, *args) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/v1", seen
    finally:
        httpd.shutdown()
        httpd.server_close()


def ok() -> Answer:
    return 200, json.dumps(COMPLETION).encode(), 0.0


def test_5xx_and_429_are_retried_with_back_off_then_succeed():
    codes = {1: 503, 2: 429}
    with scripted(lambda n, p, b: (codes[n], b"{}", 0.0) if n in codes else ok()) as (url, seen):
        start = time.monotonic()
        made = OpenAICompatible(url, model="m", retries=2, backoff=0.1).generate(
            "Item: Moka pot\nKeywords:", max_tokens=8, seed=4, stop=["\n"])
        elapsed = time.monotonic() - start
    assert made.text == " coffee, espresso" and made.model == "m" and made.provider == "openai"
    assert len(seen) == 3 and elapsed >= 0.1 + 0.2  # waited 0.1 s, then 0.2 s
    path, body = seen[-1]
    assert path == "/v1/completions"
    assert body == {"model": "m", "prompt": "Item: Moka pot\nKeywords:", "max_tokens": 8,
                    "temperature": 0.0, "seed": 4, "stop": ["\n"]}


def test_a_server_failing_every_attempt_is_unavailable():
    with scripted(lambda n, p, b: (500, b"boom", 0.0)) as (url, seen), \
            pytest.raises(LlmUnavailable) as err:
        OpenAICompatible(url, model="m", retries=2, backoff=0.01).generate("x", max_tokens=4)
    assert len(seen) == 3
    assert err.value.code == "llm_unavailable" and err.value.details["attempts"] == 3
    assert "HTTP 500" in err.value.message


@pytest.mark.parametrize(("status", "body", "needle"), [
    (404, b'{"error": "no such model"}', "HTTP 404"),
    (200, b"<html>not json</html>", "not JSON"),
    (200, b"[1, 2]", "not a JSON object"),
    (200, b'{"choices": []}', "choices[0].text"),
    (200, b'{"choices": [{"text": 5}]}', "not text"),
])
def test_answers_that_are_not_completions_are_bad_responses_and_not_retried(status, body, needle):
    with scripted(lambda n, p, b: (status, body, 0.0)) as (url, seen), \
            pytest.raises(LlmBadResponse) as err:
        OpenAICompatible(url, model="m", retries=3, backoff=0.01).generate("x", max_tokens=4)
    assert len(seen) == 1 and err.value.code == "llm_bad_response" and needle in err.value.message


def test_a_slow_server_times_out_as_unavailable():
    with scripted(lambda n, p, b: (*ok()[:2], 1.5)) as (url, seen):
        start = time.monotonic()
        with pytest.raises(LlmUnavailable, match="timed out"):
            OpenAICompatible(url, model="m", retries=1, backoff=0.0, timeout=0.3).generate(
                "x", max_tokens=4)
    assert len(seen) == 2 and time.monotonic() - start < 1.5


def test_without_a_model_the_first_one_listed_is_asked_for_and_remembered():
    def answer(n, path, body):
        if path == "/v1/models":
            return 200, json.dumps({"data": [{"id": "alpha"}, {"id": "beta"}]}).encode(), 0.0
        return ok()

    with scripted(answer) as (url, seen):
        generator = OpenAICompatible(url, api_key="sekret")
        assert generator.generate("x", max_tokens=4).model == "alpha"
        generator.generate("y", max_tokens=4)
    assert [p for p, _ in seen] == ["/v1/models", "/v1/completions", "/v1/completions"]
    assert seen[1][1]["model"] == "alpha"


def test_the_chat_api_sends_messages_and_reads_the_message():
    chat = {"choices": [{"message": {"role": "assistant", "content": "blue"}}]}
    with scripted(lambda n, p, b: (200, json.dumps(chat).encode(), 0.0)) as (url, seen):
        made = OpenAICompatible(url, model="m", api="chat").generate("Colour?", system="One word.",
                                                                   max_tokens=4, seed=None)
    assert made.text == "blue" and made.seed is None
    path, body = seen[0]
    assert path == "/v1/chat/completions" and "seed" not in body
    assert body["messages"] == [{"role": "system", "content": "One word."},
                                {"role": "user", "content": "Colour?"}]


@pytest.mark.parametrize("kwargs", [{"base_url": "ftp://x"}, {"base_url": ""},
                                    {"base_url": "http://x", "api": "legacy"},
                                    {"base_url": "http://x", "timeout": 0}])
def test_bad_configuration_is_a_config_error(kwargs):
    with pytest.raises(ConfigError):
        OpenAICompatible(**kwargs)


def test_keywording_asks_the_servers_model_once_before_the_first_item(tmp_path):
    from tests.conftest import make_settings
    from vitrina.recs.items import ItemService
    from vitrina.recs.keywords import KeywordWriter
    from vitrina.storage.catalog.projects import DEFAULT_PROJECT as P
    from vitrina.testing import make_runtime

    def answer(n, path, body):
        if path == "/v1/models":
            return 200, json.dumps({"data": [{"id": "alpha"}]}).encode(), 0.0
        return ok()

    rt = make_runtime(make_settings(tmp_path, f"sqlite:///{tmp_path / 'catalog.db'}"))
    items = ItemService.of(rt)
    items.upsert_many(P, [{"id": "moka", "type": "product", "title": "Moka pot"}])
    with scripted(answer) as (url, seen):
        assert [o.status for o in KeywordWriter(items, OpenAICompatible(url)).run(P).outcomes] == ["written"]
        # a new client (a new command) knows the model before the item: nothing generated
        assert [o.status for o in KeywordWriter(items, OpenAICompatible(url)).run(P).outcomes] == ["fresh"]
    rt.close()
    assert [p for p, _ in seen] == ["/v1/models", "/v1/completions", "/v1/models"]
    assert items.get(P, "moka").attributes["keywords"] == ["coffee", "espresso"]
