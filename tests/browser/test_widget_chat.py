"""The chat widget against the real assistant: greeting, answers, buttons, reload, red flags."""

from __future__ import annotations

from typing import Callable, Dict

from playwright.sync_api import expect

from clinic_assistant.nlg import settings_values
from tests.browser.widget import Chat, Pages, Stack, shown

QUESTION = "How long does Botox last?"


def filled(text: str) -> str:
    """A response text as the patient reads it: the clinic's facts filled in."""
    for name, value in settings_values().items():
        text = text.replace("{" + name + "}", value)
    return text


def test_greeting_then_a_typed_question_gets_the_curated_answer(
    chat_factory: Callable[..., Chat], responses: Dict[str, str]
) -> None:
    chat = chat_factory().open()
    chat.wait_for_greeting()
    # The hidden /greet payload is not shown as the patient's message.
    assert chat.user_texts() == []
    assert chat.bot_texts()[:2] == [
        shown(filled(responses["utter_greet"])),
        shown(responses["utter_menu"]),
    ]
    expect(chat.replies).to_have_count(7)
    expect(chat.replies.first).to_have_text("How do I prepare?")

    chat.ask(QUESTION)
    expect(chat.user.last).to_have_text(QUESTION)
    chat.expect_last_answer(responses["utter_faq/duration"])
    # The menu went away with the patient's message; the answer brought its follow-ups.
    expect(chat.replies.first).to_have_text("When does it start working?")


def test_buttons_send_their_payload_and_show_their_title(
    chat_factory: Callable[..., Chat], responses: Dict[str, str]
) -> None:
    chat = chat_factory().open()
    chat.wait_for_greeting()
    chat.page.get_by_role("button", name="When does it start working?").click()
    expect(chat.user.last).to_have_text("When does it start working?")
    chat.expect_last_answer(responses["utter_faq/onset"])

    # A follow-up button of that answer.
    chat.page.get_by_role("button", name="How long does it last?").click()
    chat.expect_last_answer(responses["utter_faq/duration"])
    assert chat.user_texts() == ["When does it start working?", "How long does it last?"]
    expect(chat.input).to_be_focused()
    # No payload ("/faq/...") ever reaches the screen.
    assert "/faq/" not in chat.log.inner_text()


def test_a_reload_or_a_second_page_keeps_the_conversation(
    chat_factory: Callable[..., Chat], responses: Dict[str, str], stack: Stack, pages: Pages
) -> None:
    chat = chat_factory().open()
    chat.wait_for_greeting()
    chat.ask(QUESTION)
    chat.expect_last_answer(responses["utter_faq/duration"])
    bot_before, user_before = chat.bot_texts(), chat.user_texts()

    chat.page.reload()
    chat = Chat(chat.page).open()
    chat.wait_for_bot(len(bot_before))
    assert chat.bot_texts() == bot_before
    assert chat.user_texts() == user_before
    # Only the session id is kept in the browser: no transcript, no cookies.
    storage = chat.page.evaluate(
        "() => [Object.keys(localStorage), sessionStorage.length, document.cookie]"
    )
    assert storage == [["clinicChat.sessionId"], 0, ""]

    # The conversation goes on where it was: no second greeting before the answer.
    chat.page.get_by_role("button", name="When does it start working?").click()
    chat.expect_last_answer(responses["utter_faq/onset"])
    assert chat.bot_texts() == [*bot_before, shown(responses["utter_faq/onset"])]

    # Another page of the same site shows the same conversation.
    second = Chat(pages.watch(chat.page.context.new_page()))
    second.page.goto(stack.web_url + "/")
    second.open()
    second.wait_for_bot(len(bot_before) + 1)
    assert second.bot_texts() == chat.bot_texts()
    assert second.user_texts() == [QUESTION, "When does it start working?"]


def test_an_emergency_shows_the_alert_banner_with_a_call_link(
    chat_factory: Callable[..., Chat], responses: Dict[str, str]
) -> None:
    chat = chat_factory().open()
    chat.wait_for_greeting()
    chat.ask("I can't swallow since my injection")
    expect(chat.banner).to_be_visible()
    expect(chat.banner).to_contain_text("This could be a medical emergency.")
    call = chat.banner.get_by_role("link", name="Call 911")
    expect(call).to_have_attribute("href", "tel:911")
    chat.expect_last_answer(filled(responses["utter_escalation_emergency"]))
    # The payload is rendered as the banner, never as text.
    assert "escalation" not in chat.log.inner_text()


def test_an_urgent_sign_shows_the_banner_with_the_clinic_number(
    chat_factory: Callable[..., Chat], responses: Dict[str, str]
) -> None:
    clinic = settings_values()
    chat = chat_factory().open()
    chat.wait_for_greeting()
    chat.ask("my vision is blurry since the shots")
    expect(chat.banner).to_contain_text("Call the clinic right away, today.")
    digits = "".join(c for c in clinic["clinic_phone"] if c.isdigit() or c == "+")
    call = chat.banner.get_by_role("link", name=f"Call {clinic['clinic_phone']}")
    expect(call).to_have_attribute("href", f"tel:{digits}")
    chat.expect_last_answer(filled(responses["utter_escalation_urgent"]))
