"""A real HTTP receiver on loopback (http.server on a thread, a free port) that keeps
every delivery it gets and answers with the statuses a test scripts; and runtimes
whose deliveries are retried at once (back-off 0) with a short timeout."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.conftest import make_settings
from vitrina.runtime import Runtime
from vitrina.storage.catalog.db import upgrade

#: deliveries retried at once, a timeout short enough for a test to wait it out
FAST = {"retry_base_seconds": 0.0, "timeout_seconds": 1.0, "max_attempts": 4}


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    url: str
    #: statuses to answer in turn; once used up, 200
    script: list[int] = field(default_factory=list)
    #: seconds to wait before answering (a slow receiver)
    delay: float = 0.0
    got: list[Received] = field(default_factory=list)

    def wait_for(self, n: int, timeout: float = 10.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        while len(self.got) < n and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.got


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            state.got.append(Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
            time.sleep(state.delay)
            status = state.script.pop(0) if state.script else 200
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args) -> None:  # quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/vitrina"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


def runtime_with(tmp_path, database_url, **overrides) -> Runtime:
    settings = make_settings(tmp_path, database_url, webhooks={**FAST, **overrides.pop("webhooks", {})},
                             **overrides)
    rt = Runtime(settings)
    upgrade(rt.engine)
    return rt


@pytest.fixture
def rt(tmp_path, database_url) -> Iterator[Runtime]:
    """Development mode (http and loopback receivers allowed)."""
    runtime = runtime_with(tmp_path, database_url)
    yield runtime
    runtime.close()
