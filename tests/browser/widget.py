"""Helpers of the browser tests: the running servers, pages with console checks, the chat."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Dict, List, Pattern

from playwright.sync_api import Browser, ConsoleMessage, Locator, Page, ViewportSize, expect

from clinic_assistant.servers import ServerProcess
from clinic_assistant.settings import PROJECT_ROOT

AXE = PROJECT_ROOT / "web" / "node_modules" / "axe-core" / "axe.min.js"
DESKTOP: ViewportSize = {"width": 1280, "height": 800}
PHONE: ViewportSize = {"width": 375, "height": 740}
#: How long (ms) the tests wait for an answer from Rasa.
ANSWER_TIMEOUT_MS = 20_000


@dataclass
class Stack:
    """The running servers and where to reach them."""

    rasa: ServerProcess
    web_url: str
    rasa_url: str
    servers: List[ServerProcess] = field(default_factory=list)


class Pages:
    """Opens pages in fresh browser contexts and checks their consoles afterwards."""

    def __init__(self, browser: Browser) -> None:
        self.browser = browser
        self.contexts: List[Any] = []
        self.errors: List[str] = []
        self.expected: List[Pattern[str]] = []

    def new(self, viewport: ViewportSize = DESKTOP, **options: Any) -> Page:
        context = self.browser.new_context(viewport=viewport, **options)
        self.contexts.append(context)
        return self.watch(context.new_page())

    def watch(self, page: Page) -> Page:
        """Record ``page``'s console errors (for pages opened by other means)."""
        page.set_default_timeout(ANSWER_TIMEOUT_MS)
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.errors.append(f"page error: {error}"))
        return page

    def expect_errors(self, pattern: str) -> None:
        """Console errors matching ``pattern`` are expected (a server the test stopped)."""
        self.expected.append(re.compile(pattern))

    def _console(self, message: ConsoleMessage) -> None:
        if message.type in ("error", "assert"):
            self.errors.append(f"console.{message.type}: {message.text}")

    def unexpected_errors(self) -> List[str]:
        return [e for e in self.errors if not any(p.search(e) for p in self.expected)]

    def close(self) -> None:
        for context in self.contexts:
            context.close()


class Chat:
    """The widget on one page, as a patient uses it."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.launcher = page.locator(".cc-launcher")
        self.input = page.get_by_label("Your question")
        self.log = page.get_by_role("log", name="Conversation")
        self.bot = page.locator(".cc-msg--bot .cc-text")
        self.user = page.locator(".cc-msg--user .cc-text")
        self.replies = page.locator(".cc-replies button")
        self.banner = page.get_by_role("alert")
        self.status = page.locator(".cc-status")

    def open(self) -> Chat:
        self.launcher.click()
        expect(self.input).to_be_focused()
        return self

    def wait_for_bot(self, count: int) -> None:
        """Until at least ``count`` bot messages are shown."""
        self.page.wait_for_function(
            "n => document.querySelectorAll('.cc-msg--bot').length >= n",
            arg=count,
            timeout=ANSWER_TIMEOUT_MS,
        )

    def wait_for_greeting(self) -> None:
        # The greeting ends with the menu: its buttons are the sign it is complete.
        expect(self.replies.first).to_be_visible(timeout=ANSWER_TIMEOUT_MS)

    def ask(self, text: str) -> None:
        self.input.fill(text)
        self.input.press("Enter")

    def bot_texts(self) -> List[str]:
        """The assistant's messages as shown (see :func:`shown`)."""
        return [" ".join(text.split()) for text in self.bot.all_inner_texts()]

    def user_texts(self) -> List[str]:
        return self.user.all_text_contents()

    def expect_last_answer(self, text: str, timeout: float = ANSWER_TIMEOUT_MS) -> None:
        """Until the latest assistant message shows ``text`` (a response's text)."""
        expect(self.bot.last).to_have_text(shown(text), use_inner_text=True, timeout=timeout)

    def last_bot(self) -> Locator:
        return self.bot.last


def shown(text: str) -> str:
    """A response's text as the widget shows it: bullet lines become a list (their
    "- " is drawn, not written) and whitespace is as the browser lays it out."""
    lines = [re.sub(r"^\s*[-\u2022]\s+", "", line) for line in text.split("\n")]
    return " ".join(" ".join(lines).split())


def axe_violations(page: Page, serious_only: bool = True) -> List[Dict[str, Any]]:
    """Run the pinned axe-core (from node_modules, never a CDN) on the page."""
    # Evaluated through the DevTools protocol, so the page's CSP does not block it.
    page.evaluate(AXE.read_text("utf-8"))
    violations: List[Dict[str, Any]] = page.evaluate(
        """async () => {
            const result = await axe.run(document, {runOnly: {type: 'tag', values:
                ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice']}});
            return result.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.map(n => n.target.join(' '))}));
        }"""
    )
    if serious_only:
        return [v for v in violations if v["impact"] in ("serious", "critical")]
    return violations
