"""Server gone: the patient is told whom to call, and nothing typed meanwhile is lost."""

from __future__ import annotations

from typing import Callable, Dict

from playwright.sync_api import expect

from clinic_assistant.nlg import settings_values
from tests.browser.widget import Chat, Pages, Stack, shown

# What Chromium logs by itself while the server is down (not the widget's doing).
NETWORK_ERRORS = r"WebSocket connection to|ERR_CONNECTION_REFUSED|Failed to load resource"


def test_offline_message_then_the_queued_question_is_answered(
    chat_factory: Callable[..., Chat], responses: Dict[str, str], stack: Stack, pages: Pages
) -> None:
    clinic = settings_values()
    chat = chat_factory().open()
    chat.wait_for_greeting()
    pages.expect_errors(NETWORK_ERRORS)
    stack.rasa.stop()
    try:
        expect(chat.status).to_contain_text("We can't reach the assistant right now.")
        expect(chat.status).to_contain_text(clinic["clinic_phone"])
        digits = "".join(c for c in clinic["clinic_phone"] if c.isdigit() or c == "+")
        expect(chat.status.get_by_role("link", name=clinic["clinic_phone"])).to_have_attribute(
            "href", f"tel:{digits}"
        )
        expect(chat.status.get_by_role("link", name=clinic["emergency_number"])).to_be_visible()

        chat.ask("How long does Botox last?")
        pending = chat.page.locator(".cc-msg--user .cc-pending")
        expect(pending).to_have_count(1)
        expect(chat.user.last).to_have_text("How long does Botox last?")
    finally:
        stack.rasa.start(timeout_s=180)

    # The widget reconnects by itself (retries at most 5 s apart) and says so; the
    # notice stays 5 s, so it is looked for first, before the (slower) answer.
    expect(chat.status).to_contain_text("Connected again.", timeout=30_000)
    expect(pending).to_have_count(0, timeout=30_000)
    chat.expect_last_answer(responses["utter_faq/duration"], timeout=30_000)
    # Sent once, not twice, and not preceded by a second greeting.
    assert chat.user_texts() == ["How long does Botox last?"]
    assert chat.bot_texts().count(shown(responses["utter_faq/duration"])) == 1
