"""'End chat' on a shared computer: the conversation is gone from the page and the
browser, and a new session starts (real servers, real browser)."""

from __future__ import annotations

from typing import Callable, Dict

from playwright.sync_api import expect

from tests.browser.widget import Chat, shown

QUESTION = "how long does the botox last?"
READ_ID = "() => localStorage.getItem('clinicChat.sessionId')"


def test_end_chat_forgets_the_conversation_and_starts_a_new_one(
    chat_factory: Callable[..., Chat], responses: Dict[str, str]
) -> None:
    chat = chat_factory().open()
    chat.wait_for_greeting()
    chat.ask(QUESTION)
    chat.expect_last_answer(responses["utter_faq/duration"])
    old_id = chat.page.evaluate(READ_ID)
    assert old_id

    chat.page.get_by_role("button", name="End chat").click()
    expect(chat.page.locator(".cc-status")).to_contain_text("Chat ended")
    chat.wait_for_greeting()
    expect(chat.user).to_have_count(0)
    new_id = chat.page.evaluate(READ_ID)
    assert new_id and new_id != old_id

    # After a reload only the new conversation (its greeting) comes back.
    chat.page.reload()
    chat = Chat(chat.page).open()
    chat.wait_for_greeting()
    assert QUESTION not in chat.log.inner_text()
    assert shown(responses["utter_faq/duration"]) not in chat.bot_texts()
    # The new conversation works.
    chat.ask(QUESTION)
    chat.expect_last_answer(responses["utter_faq/duration"])
