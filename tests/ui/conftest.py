"""Real servers (uvicorn with pipeline workers, as `make run` serves) and one headless
Chromium for the browser tests; a fresh browser context (cookies, storage) per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import make_settings
from tests.ui.browser import CHROMIUM, FLAGS, browser_missing
from vitrina.api.app import create_app
from vitrina.runtime import Runtime
from vitrina.testing import make_runtime, running_server

SIGNING = {"k1": "a-long-random-signing-secret-for-the-ui-tests"}
DESKTOP = {"width": 1280, "height": 800}


def serve(tmp: Path, **overrides) -> Iterator[tuple[str, Runtime]]:
    """A server over a new SQLite catalog in ``tmp``, with two pipeline workers."""
    settings = make_settings(tmp, f"sqlite:///{tmp / 'catalog.db'}", signing={"keys": SIGNING},
                             server={"inprocess_workers": 2}, **overrides)
    app = create_app(settings, runtime=make_runtime(settings))
    with running_server(app) as base:
        yield base, app.state.runtime


@pytest.fixture(scope="module")
def dev_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Runtime]]:
    """Development mode, as `make run`: open, with a URL signing key."""
    yield from serve(tmp_path_factory.mktemp("dev"))


@pytest.fixture(scope="module")
def prod_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Runtime]]:
    """Production settings: every page needs a sign-in with an API key."""
    yield from serve(tmp_path_factory.mktemp("prod"), dev=False)


@pytest.fixture(scope="module")
def chromium() -> Iterator[object]:
    """Per test file: Playwright's sync API keeps an event loop running in this thread,
    and the suite's other files (run by the same worker) start loops of their own."""
    browser_missing()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        yield browser
        browser.close()


@pytest.fixture
def page(chromium) -> Iterator[object]:
    context = chromium.new_context(viewport=DESKTOP, reduced_motion="reduce")
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    context.close()
