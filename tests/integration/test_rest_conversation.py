"""Talk to the real servers over HTTP, as a website or SMS channel would."""

from __future__ import annotations

import sqlite3
import time

import pytest
import yaml

from clinic_assistant.settings import PROJECT_ROOT, ClinicSettings
from tests.integration.conftest import Stack

pytestmark = pytest.mark.integration
SHEET_ONSET = "Onset of relief: Botox usually starts working around day 3 and peaks around 3 weeks."


def texts(messages: list) -> list:
    return [m["text"] for m in messages if "text" in m]


def escalations(messages: list) -> list:
    return [m["custom"]["escalation"] for m in messages if "escalation" in m.get("custom", {})]


def test_greeting_has_the_disclaimer_and_a_menu(stack: Stack) -> None:
    reply = stack.say("greet-1", "hello")
    assert "automated" in texts(reply)[0] and "not medical advice" in texts(reply)[0]
    assert ClinicSettings().emergency_number in texts(reply)[0]
    assert any(m.get("buttons") for m in reply)


def test_a_question_gets_the_sheet_answer_and_follow_ups(stack: Stack) -> None:
    reply = stack.say("faq-1", "when will i start to feel the botox working?")
    assert texts(reply) == [SHEET_ONSET]
    assert 2 <= len(reply[0]["buttons"]) <= 3
    follow_up = reply[0]["buttons"][0]["payload"]
    again = stack.say("faq-1", follow_up)
    assert texts(again) and texts(again)[0] != SHEET_ONSET
    assert not escalations(reply + again)


def test_a_question_about_a_risk_is_answered_with_what_to_do_if_it_happens(
    stack: Stack,
) -> None:
    reply = stack.say("risk-1", "can botox cause trouble swallowing?")
    assert not escalations(reply)
    text = texts(reply)[0]
    assert text.startswith("Rare but serious side effects can occur")
    assert f"call {ClinicSettings().emergency_number} now" in text


@pytest.mark.parametrize(
    "question",
    ["could the shots ever make my eyelids droop?", "is trouble speaking a possible side effect"],
)
def test_other_risk_questions_get_the_risk_facts_too(stack: Stack, question: str) -> None:
    reply = stack.say(f"risk-{abs(hash(question))}", question)
    assert not escalations(reply)
    text = " ".join(texts(reply))
    # One of the two answers with the risk facts, and what to do if it happens.
    assert text.startswith(("Rare but serious side effects", "Most side effects are mild")), text
    assert f"call {ClinicSettings().emergency_number} now" in text


def test_talk_to_a_person_gives_the_phone_and_hours(stack: Stack) -> None:
    reply = stack.say("human-1", "can I speak to a real person")
    assert ClinicSettings().phone in texts(reply)[0]
    assert ClinicSettings().hours in texts(reply)[0]


@pytest.mark.parametrize(
    "message",
    [
        "",
        "   ",
        "🙂🙂🙂",
        "x" * 10_000,
        "how long does it last " * 500,
        "<script>alert('x')</script>",
        "¿Cuánto tiempo dura el efecto del botox?",
        "qwpoeiru zxmcnv asdkfj",
    ],
)
def test_bad_input_gets_a_kind_clear_reply(stack: Stack, message: str) -> None:
    reply = stack.say("bad-input", message)
    assert texts(reply), f"no reply to {message[:40]!r}"
    assert all("Traceback" not in t and "Error" not in t for t in texts(reply))


def test_a_danger_sign_is_escalated_with_the_payload_and_recorded(stack: Stack) -> None:
    reply = stack.say("red-1", "my husband can barely swallow since his injections")
    assert escalations(reply) == [{"level": "emergency", "symptoms": ["difficulty_swallowing"]}]
    assert ClinicSettings().emergency_number in texts(reply)[0]
    deadline = time.monotonic() + 10
    rows: list = []
    while time.monotonic() < deadline and not rows:
        with sqlite3.connect(stack.db_path) as db:
            rows = db.execute(
                "SELECT level, conversation_id FROM escalations WHERE conversation_id = ?",
                ("red-1",),
            ).fetchall()
        time.sleep(0.2)
    assert rows == [("emergency", "red-1")]


def records(stack: Stack, sender: str, wait_s: float = 10) -> list:
    """(level, count) of the conversation's escalation records, once there are any."""
    deadline = time.monotonic() + wait_s
    rows: list = []
    while time.monotonic() < deadline and not rows:
        with sqlite3.connect(stack.db_path) as db:
            rows = db.execute(
                "SELECT level, count FROM escalations WHERE conversation_id = ?", (sender,)
            ).fetchall()
        time.sleep(0.2)
    return rows


def test_an_escalated_conversation_keeps_the_instruction_until_help_has_come(
    stack: Stack,
) -> None:
    emergency = ClinicSettings().emergency_number
    assert escalations(stack.say("sticky-1", "my son can't breathe since his shots"))
    office = texts(stack.say("sticky-1", "can we just come to your office?"))
    assert office[0].startswith("Reminder:") and f"Call {emergency} now" in office[0]
    assert "do not come to the clinic instead" in office[0]
    yes = texts(stack.say("sticky-1", "yes, now"))
    assert yes[0].startswith("Reminder:")
    clear = texts(stack.say("sticky-1", "ok the ambulance is here"))
    assert clear[0].startswith("I'm glad")
    after = texts(stack.say("sticky-1", "how long does it last?"))
    assert not after[0].startswith("Reminder:") and after[0].startswith("Duration:")
    assert records(stack, "sticky-1") == [("emergency", 1)]


def safety_question(stack: Stack, sender: str) -> list:
    reply = stack.say(sender, "talking makes me a bit puffed")
    assert not escalations(reply)
    assert ClinicSettings().emergency_number in texts(reply)[0]
    assert [b["payload"] for b in reply[-1]["buttons"]] == ["/affirm", "/deny"]
    return reply


@pytest.mark.parametrize("answer", ["yes", "/affirm"])
def test_yes_to_the_safety_question_escalates(stack: Stack, answer: str) -> None:
    sender = f"ask-yes-{answer.strip('/')}"
    safety_question(stack, sender)
    reply = stack.say(sender, answer)
    assert [e["level"] for e in escalations(reply)] == ["emergency"]
    assert records(stack, sender) == [("emergency", 1)]


def test_no_to_the_safety_question_does_not_escalate(stack: Stack) -> None:
    safety_question(stack, "ask-no")
    reply = stack.say("ask-no", "no")
    assert not escalations(reply) and texts(reply)[0].startswith("Thank you")
    assert records(stack, "ask-no", wait_s=1.5) == []


def test_a_danger_sign_in_spanish_gets_the_instruction_in_spanish(stack: Stack) -> None:
    reply = stack.say("es-1", "no puedo respirar desde la inyección")
    assert [e["level"] for e in escalations(reply)] == ["emergency"]
    assert texts(reply)[0].startswith("Esto podría ser una emergencia")
    later = texts(stack.say("es-1", "¿puedo ir a la clínica en vez de eso?"))
    assert later[0].startswith("Recuerde:")


#: Vague questions the assistant cannot place; typed "/nlu_fallback" is no longer
#: honoured (only the assistant's own button payloads are), so a real miss is used.
VAGUE = [
    "what about the other thing",
    "and that one?",
    "how about it then",
    "is that the same as before",
    "what do they do with it",
]


def is_a_miss(reply: list) -> bool:
    """A clarification (likely answers + "Something else") or a request to rephrase."""
    if not reply:
        return False
    buttons = reply[-1].get("buttons") or [{}]
    return buttons[-1].get("title") == "Something else" or "other words" in texts(reply)[0]


def a_miss(stack: Stack, sender: str) -> tuple:
    """The first vague question the assistant cannot place."""
    for text in VAGUE:
        reply = stack.say(f"probe-{sender}", text)
        if is_a_miss(reply):
            return text, reply
    raise AssertionError(f"none of {VAGUE} was a miss")


def test_two_misses_lead_to_contact_details_even_across_a_restart(stack: Stack) -> None:
    vague, _ = a_miss(stack, "restart-1")
    first = stack.say("restart-1", vague)
    assert is_a_miss(first)
    stack.rasa.stop()
    stack.rasa.start()
    second = stack.say("restart-1", vague)
    # Only a conversation that survived the restart knows this is the second miss.
    assert ClinicSettings().phone in texts(second)[0]
    assert "still can't find" in texts(second)[0]


def test_the_escalation_reaches_the_patient_with_the_action_server_down(stack: Stack) -> None:
    stack.actions.stop()
    try:
        reply = stack.say("red-2", "I can't breathe properly and my eyelids are drooping")
        assert escalations(reply) == [
            {"level": "emergency", "symptoms": ["difficulty_breathing", "drooping_eyelids"]}
        ]
        assert "emergency room" in texts(reply)[0]
        assert texts(stack.say("red-2", "how long does it last?"))
    finally:
        stack.actions.start()


#: Messages too vague to place: at least one gets the clarification with answers.
UNCLEAR = ["the injection thing", "timing", "the needle stuff", "about the thing with the shots"]


def answer_text(topic: str) -> str:
    """The first line of the sheet's answer for ``faq/<topic>``, as the domain has it."""
    domain = yaml.safe_load((PROJECT_ROOT / "domain" / "faq.yml").read_text("utf-8"))
    return str(domain["responses"][f"utter_faq/{topic}"][0]["text"]).splitlines()[0]


def test_a_clarification_offers_likely_answers_and_a_click_gives_that_answer(
    stack: Stack,
) -> None:
    """In the running server (not a unit-built NLG): answer buttons with their titles."""
    for number, text in enumerate(UNCLEAR):
        sender = f"clarify-{number}"
        reply = stack.say(sender, text)
        buttons = (reply[-1].get("buttons") or []) if reply else []
        answers = [b for b in buttons if b["payload"].startswith("/faq/")]
        if answers:
            break
    else:
        raise AssertionError(f"none of {UNCLEAR} was clarified with answer buttons")
    assert 1 <= len(answers) <= 2
    assert buttons[-1] == {"title": "Something else", "payload": "/deny"}
    assert all(b["title"] and not b["title"].startswith("/") for b in answers)
    topic = answers[0]["payload"].split("/")[-1]
    clicked = stack.say(sender, answers[0]["payload"])
    assert texts(clicked)[0].startswith(answer_text(topic))


def test_a_short_follow_up_is_answered_from_the_previous_answer(stack: Stack) -> None:
    emg = answer_text("emg")
    assert texts(stack.say("follow-1", "what is the EMG for?"))[0].startswith(emg)
    assert texts(stack.say("follow-1", "is that always needed?"))[0].startswith(emg)
    # The same words with nothing before them lean on nothing.
    alone = stack.say("follow-2", "is that always needed?")
    assert not texts(alone)[0].startswith(emg)
