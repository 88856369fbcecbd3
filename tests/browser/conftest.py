"""Browser tests of the chat widget: Debian's Chromium, driven by Playwright, against
the real servers (Rasa with the trained model, the action server, the demo page).

The servers are started once for this folder on free ports with a temporary SQLite
database, through the same helpers `make run` uses (clinic_assistant.servers).
The Rasa server accepts socket.io only from the test page's origin,
http://127.0.0.1:<port>, so a page loaded as http://localhost:<port> is refused.
Every page records its console; a test fails if anything is logged as an error
that the test did not declare it expects.
"""

from __future__ import annotations

import os
import shutil
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable, Dict, Iterator, List

import pytest
import yaml
from playwright.sync_api import Browser, Playwright, ViewportSize, sync_playwright

from clinic_assistant.servers import (
    DEFAULT_MODEL,
    ServerProcess,
    action_server,
    free_port,
    local_settings,
    rasa_server,
    web_server,
)
from clinic_assistant.settings import PROJECT_ROOT
from evaluation.chromium import CHROMIUM_ARGS
from tests.browser.widget import AXE, DESKTOP, Chat, Pages, Stack


def pytest_collection_modifyitems(items: List[pytest.Item]) -> None:
    """Everything here is a browser test (``-m "not browser"`` skips them)."""
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.browser)


def chromium_path() -> str:
    path = shutil.which("chromium")
    if path is None:
        pytest.fail("Chromium is missing: run `make chromium` (apt-get install chromium).")
    return path


# Package scope, not session: Playwright's sync API keeps an asyncio loop running in
# this thread while it is open, and the async tests collected after this folder
# need the thread's loop free. Everything here ends with the last browser test.
@pytest.fixture(scope="package")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="package")
def browser(playwright: Playwright) -> Iterator[Browser]:
    browser = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
    yield browser
    browser.close()


def start_all(servers: List[ServerProcess]) -> None:
    """Start the servers side by side (Rasa's model load dominates)."""
    with ThreadPoolExecutor(len(servers)) as pool:
        for future in [pool.submit(server.start, 180.0) for server in servers]:
            future.result()


@pytest.fixture(scope="package")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    # BROWSER_TEST_MODEL: try the widget against another trained model.
    model = Path(os.environ.get("BROWSER_TEST_MODEL") or DEFAULT_MODEL)
    if not model.exists():
        pytest.fail(f"{model} is missing: run `make setup` (or `make test`) first")
    if not AXE.exists():
        pytest.fail(
            "web/node_modules is missing: run `make setup` (python -m clinic_assistant.web.build)"
        )
    state = tmp_path_factory.mktemp("browser")
    db_url = f"sqlite:///{state / 'conversations.db'}"
    # Socket.io accepts only the page's origin, http://127.0.0.1:<web port>.
    settings = local_settings(db_url)
    web_url = f"http://127.0.0.1:{settings.web_port}"
    rasa_url = settings.web_rasa_url
    rasa = rasa_server(settings, state / "rasa.log", model)
    servers = [
        action_server(settings, state / "actions.log"),
        rasa,
        web_server(settings, state / "web.log"),
    ]
    try:
        start_all(servers)
        yield Stack(rasa=rasa, web_url=web_url, rasa_url=rasa_url, servers=servers)
    finally:
        for server in reversed(servers):
            server.stop()


@pytest.fixture
def pages(browser: Browser) -> Iterator[Pages]:
    opened = Pages(browser)
    yield opened
    opened.close()
    assert opened.unexpected_errors() == [], "the browser console logged errors"


def _response_texts() -> Dict[str, str]:
    responses: Dict[str, str] = {}
    for path in sorted((PROJECT_ROOT / "domain").glob("*.yml")):
        domain = yaml.safe_load(path.read_text("utf-8")) or {}
        for name, variations in (domain.get("responses") or {}).items():
            if variations and "text" in variations[0]:
                responses[name] = variations[0]["text"]
    return responses


@pytest.fixture(scope="session")
def responses() -> Dict[str, str]:
    """Response name -> its (first) text, from the domain: the curated wording."""
    return _response_texts()


@pytest.fixture
def chat_factory(pages: Pages, request: pytest.FixtureRequest) -> Callable[..., Chat]:
    """Opens the demo page (desktop unless a viewport is given) and returns its chat.

    The real servers are started on first use only, so a test on another site
    (``url=``) does not need the trained model.
    """

    def open_page(viewport: ViewportSize = DESKTOP, url: str | None = None) -> Chat:
        if url is None:
            url = request.getfixturevalue("stack").web_url + "/"
        page = pages.new(viewport)
        page.goto(url)
        return Chat(page)

    return open_page


@pytest.fixture(scope="package")
def scripted_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The demo page talking to tests/browser/scripted_bot.py instead of Rasa; its URL.

    The bot is the project's socket.io channel with fixed, hostile replies.
    """
    state = tmp_path_factory.mktemp("scripted")
    bot_port = free_port()
    settings = local_settings(
        f"sqlite:///{state / 'unused.db'}", WEB_RASA_URL=f"http://127.0.0.1:{bot_port}"
    )
    web_url = f"http://127.0.0.1:{settings.web_port}"
    bot = ServerProcess(
        name="scripted bot",
        command=[
            sys.executable,
            str(Path(__file__).with_name("scripted_bot.py")),
            str(bot_port),
            web_url,
        ],
        ready_url=f"http://127.0.0.1:{bot_port}/webhooks/socketio/",
        log_path=state / "bot.log",
        env={"PYTHONPATH": str(PROJECT_ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")},
    )
    servers = [bot, web_server(settings, state / "web.log")]
    try:
        start_all(servers)
        yield web_url
    finally:
        for server in reversed(servers):
            server.stop()
