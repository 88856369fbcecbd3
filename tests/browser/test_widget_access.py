"""Accessibility: keyboard only, focus order, axe-core, small screens, and the README pictures."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable, Dict, List

import pytest
from playwright.sync_api import Page, ViewportSize, expect

from tests.browser.widget import DESKTOP, PHONE, Chat, axe_violations

#: Where the README's pictures go: only `make screenshots` sets it (to docs/screenshots),
#: so `make test` leaves the tracked files alone and writes to a temporary folder.
SCREENSHOT_DIR_ENV = "SCREENSHOT_DIR"


def focused(page: Page) -> str:
    """The focused element, as a person would name it (its text or label)."""
    return str(
        page.evaluate(
            """() => {
            const el = document.activeElement;
            return (el.getAttribute('aria-label') || el.textContent || el.id || el.tagName)
                .replace(/\\s+/g, ' ').trim();
        }"""
        )
    )


def focus_ring_visible(page: Page) -> bool:
    style = page.evaluate(
        "() => { const s = getComputedStyle(document.activeElement);"
        " return [s.outlineStyle, parseFloat(s.outlineWidth)]; }"
    )
    return style[0] != "none" and style[1] >= 2


def tab_until(page: Page, name: str, key: str = "Tab", limit: int = 20) -> List[str]:
    """Press ``key`` until ``name`` has the focus; returns every stop on the way."""
    stops: List[str] = []
    for _ in range(limit):
        page.keyboard.press(key)
        stops.append(focused(page))
        if stops[-1] == name:
            return stops
    raise AssertionError(f"{name!r} never got the focus; stops: {stops}")


def test_keyboard_only(chat_factory: Callable[..., Chat], responses: Dict[str, str]) -> None:
    chat = chat_factory()
    page = chat.page
    # From the top of the page to the launcher, past the page's own links.
    tab_until(page, "Chat with us")
    assert focus_ring_visible(page)
    page.keyboard.press("Enter")
    expect(chat.input).to_be_focused()
    expect(chat.launcher).to_have_attribute("aria-expanded", "true")
    chat.wait_for_greeting()

    # Back from the input: the suggested replies, then the conversation, then Close.
    stops = tab_until(page, "Close chat", key="Shift+Tab")
    assert stops[0] == "Talk to a person"
    assert stops[-2:] == ["Conversation", "Close chat"]
    # Forward again to a reply and press it.
    tab_until(page, "How long does it last?")
    assert focus_ring_visible(page)
    page.keyboard.press("Enter")
    chat.expect_last_answer(responses["utter_faq/duration"])
    expect(chat.input).to_be_focused()

    page.keyboard.type("When does it start working?")
    page.keyboard.press("Enter")
    chat.expect_last_answer(responses["utter_faq/onset"])

    # After the input: Send, the emergency number, then the launcher.
    assert tab_until(page, "Hide chat") == ["Send", "911", "Hide chat"]
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Escape")
    expect(chat.page.locator("#cc-panel")).to_be_hidden()
    expect(chat.launcher).to_be_focused()
    expect(chat.launcher).to_have_attribute("aria-expanded", "false")


def test_the_widget_announces_messages_and_is_labelled(chat_factory: Callable[..., Chat]) -> None:
    chat = chat_factory().open()
    chat.wait_for_greeting()
    expect(chat.log).to_have_attribute("aria-live", "polite")
    expect(chat.page.get_by_role("dialog", name="Automated assistant")).to_be_visible()
    expect(chat.page.get_by_role("group", name="Suggested replies")).to_be_visible()
    expect(chat.page.get_by_role("button", name="Send")).to_be_visible()
    # Who said what is spoken, not only shown by colour and position.
    assert chat.page.locator(".cc-msg--bot .cc-sr-only").first.text_content() == "Assistant: "


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_axe_finds_no_serious_violations(
    chat_factory: Callable[..., Chat], viewport: ViewportSize
) -> None:
    chat = chat_factory(viewport)
    assert axe_violations(chat.page) == []  # the page with the launcher
    chat.open()
    chat.wait_for_greeting()
    chat.ask("I can't swallow since my injection")
    expect(chat.banner.get_by_role("link")).to_be_visible()
    expect(chat.page.locator(".cc-typing")).to_be_hidden()
    # Greeting, menu, the patient's message, the emergency banner and instructions.
    assert axe_violations(chat.page) == []


@pytest.mark.parametrize("width", [360, 375])
def test_usable_on_a_small_phone(
    chat_factory: Callable[..., Chat], responses: Dict[str, str], width: int
) -> None:
    chat = chat_factory({"width": width, "height": 640}).open()
    chat.wait_for_greeting()
    chat.page.get_by_role("button", name="How do I prepare?").click()
    chat.expect_last_answer(responses["utter_faq/prepare"])
    page = chat.page
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    panel = page.locator("#cc-panel").bounding_box()
    assert panel is not None and panel["width"] == width and panel["x"] == 0
    for element in (chat.input, page.get_by_role("button", name="Send"), *chat.replies.all()):
        box = element.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width
    # Touch targets: at least 40 px high.
    assert all((b.bounding_box() or {"height": 0})["height"] >= 40 for b in chat.replies.all())


def test_screenshots_for_the_readme(
    chat_factory: Callable[..., Chat], responses: Dict[str, str], tmp_path: Path
) -> None:
    screenshots = Path(os.environ.get(SCREENSHOT_DIR_ENV) or tmp_path)
    screenshots.mkdir(parents=True, exist_ok=True)
    for name, viewport, button, answer in (
        ("desktop", DESKTOP, "When does it start working?", "utter_faq/onset"),
        ("phone", PHONE, "How do I prepare?", "utter_faq/prepare"),
    ):
        chat = chat_factory(viewport).open()
        chat.wait_for_greeting()
        chat.page.get_by_role("button", name=button).click()
        chat.expect_last_answer(responses[answer])
        expect(chat.page.locator(".cc-typing")).to_be_hidden()
        chat.replies.first.wait_for()
        chat.page.mouse.move(0, 0)  # no hover highlight left on a button
        path = screenshots / f"{name}.png"
        chat.page.screenshot(path=str(path))
        assert path.stat().st_size > 10_000
