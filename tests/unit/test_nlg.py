"""ClinicNLG: settings filled in, escalation payload, clarification buttons, safety note."""

from __future__ import annotations

from typing import Any, Dict

import pytest
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from clinic_assistant.nlg import ClinicNLG
from clinic_assistant.settings import get_settings
from tests.conftest import ROOT


@pytest.fixture(scope="module")
def nlg() -> ClinicNLG:
    return ClinicNLG(domain=Domain.load(str(ROOT / "domain")))


def tracker(parse_data: Dict[str, Any]) -> DialogueStateTracker:
    """A conversation whose latest message parsed as ``parse_data``."""
    event = UserUttered("text", parse_data.get("intent"), parse_data.get("entities"), parse_data)
    return DialogueStateTracker.from_events("unit", [event])


async def test_clinic_facts_come_from_the_settings(
    nlg: ClinicNLG, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CLINIC_PHONE", "+1 312 555 0101")
    monkeypatch.setenv("CLINIC_EMERGENCY_NUMBER", "112")
    get_settings.cache_clear()
    try:
        message = await nlg.generate("utter_contact", tracker({}), "rest")
    finally:
        get_settings.cache_clear()
    assert message is not None
    assert "+1 312 555 0101" in message["text"] and "112" in message["text"]
    assert "{" not in message["text"]


async def test_escalation_payload_carries_level_and_symptoms(nlg: ClinicNLG) -> None:
    parse = {
        "intent": {"name": "red_flag_emergency", "confidence": 1.0},
        "entities": [
            {"entity": "red_flag_symptom", "value": "difficulty_breathing"},
            {"entity": "BLOOD_THINNER", "value": "warfarin"},
            {"entity": "red_flag_symptom", "value": "difficulty_breathing"},
        ],
    }
    message = await nlg.generate("utter_escalation_emergency", tracker(parse), "rest")
    assert message is not None
    assert message["custom"] == {
        "escalation": {"level": "emergency", "symptoms": ["difficulty_breathing"]}
    }


async def test_clarify_offers_the_gates_options_then_something_else(nlg: ClinicNLG) -> None:
    parse = {
        "intent": {"name": "nlu_fallback", "confidence": 0.3},
        "answer_options": [{"payload": "/faq/onset"}, {"payload": "/faq/unknown_topic"}],
    }
    message = await nlg.generate("utter_clarify", tracker(parse), "rest")
    assert message is not None
    assert message["buttons"] == [
        {"title": "When does it start working?", "payload": "/faq/onset"},
        {"title": "Something else", "payload": "/deny"},
    ]


async def test_the_risk_answer_ends_with_the_safety_note(nlg: ClinicNLG) -> None:
    message = await nlg.generate("utter_faq/serious_risks", tracker({}), "rest")
    assert message is not None
    first, note = message["text"].split("\n\n")
    assert first.startswith("Rare but serious side effects")
    assert f"call {get_settings().clinic.emergency_number} now" in note
    assert "append" not in (message.get("metadata") or {})


async def test_no_other_reply_carries_an_escalation(nlg: ClinicNLG) -> None:
    for name in nlg.responses:
        if name.startswith("utter_escalation"):
            continue
        message = await nlg.generate(name, tracker({}), "rest")
        assert message is not None
        assert "escalation" not in (message.get("custom") or {}), name


async def test_clarify_titles_come_from_responses_assigned_after_creation() -> None:
    """As in the running server: Rasa creates the NLG from an empty domain and
    assigns the responses afterwards (rasa/core/agent.py)."""
    late = ClinicNLG(domain=Domain.empty())
    late.responses = Domain.load(str(ROOT / "domain")).responses
    parse = {
        "intent": {"name": "nlu_fallback", "confidence": 0.3},
        "answer_options": [{"payload": "/faq/onset"}, {"payload": "/faq/duration"}],
    }
    message = await late.generate("utter_clarify", tracker(parse), "rest")
    assert message is not None
    assert [b["payload"] for b in message["buttons"]] == ["/faq/onset", "/faq/duration", "/deny"]


async def test_clarify_with_nothing_to_offer_asks_to_rephrase(nlg: ClinicNLG) -> None:
    parse = {"intent": {"name": "nlu_fallback", "confidence": 0.3}, "answer_options": []}
    message = await nlg.generate("utter_clarify", tracker(parse), "rest")
    assert message is not None
    assert not message.get("buttons")
    assert "other words" in message["text"]


def test_every_answer_the_gate_can_offer_has_a_button_title(nlg: ClinicNLG) -> None:
    topics = [name.split("/", 1)[1] for name in nlg.responses if name.startswith("utter_faq/")]
    missing = [t for t in topics if f"/faq/{t}" not in nlg.titles]
    assert not missing and "/human_handoff" in nlg.titles


@pytest.mark.parametrize(
    ("level", "words"), [("emergency", "call 911 now"), ("urgent", "(555) 010-0199")]
)
async def test_the_safety_question_says_what_to_do_then_answers_then_asks(
    nlg: ClinicNLG, level: str, words: str
) -> None:
    check = {"red_flag_check": {"level": level, "symptoms": [], "answer": "faq/duration"}}
    message = await nlg.generate(f"utter_safety_question_{level}", tracker(check), "rest")
    assert message is not None
    line, answer, question = message["text"].split("\n\n")
    assert words in line and answer.startswith("Duration:")
    assert question.startswith("Is this happening to you")
    assert [b["payload"] for b in message["buttons"]] == ["/affirm", "/deny"]
    assert "custom" not in message  # a question is not an escalation


async def test_the_safety_question_without_an_answer_is_line_and_question(
    nlg: ClinicNLG,
) -> None:
    check: Dict[str, Any] = {
        "red_flag_check": {"level": "emergency", "symptoms": [], "answer": None}
    }
    message = await nlg.generate("utter_safety_question_emergency", tracker(check), "rest")
    assert message is not None
    line, question = message["text"].split("\n\n")
    assert "call 911 now" in line and question.endswith("now?")


def escalated_at(level: str, *later: Any) -> DialogueStateTracker:
    """A session escalated at ``level``, then ``later`` events."""
    from rasa.shared.core.events import ActionExecuted, BotUttered

    flagged = {"intent": {"name": f"red_flag_{level}", "confidence": 1.0}}
    events = [
        ActionExecuted("action_session_start"),
        UserUttered("it started today", flagged["intent"], [], flagged),
        BotUttered("call", {"custom": {"escalation": {"level": level, "symptoms": []}}}),
        *later,
    ]
    return DialogueStateTracker.from_events("unit", events)


def escalated(*later: Any) -> DialogueStateTracker:
    """A session escalated at the emergency level, then ``later`` events."""
    return escalated_at("emergency", *later)


async def test_an_escalated_session_repeats_the_instruction_first(nlg: ClinicNLG) -> None:
    office = {"intent": {"name": "faq", "confidence": 0.9}}
    later = escalated(UserUttered("can we just come to your office?", office["intent"], [], office))
    message = await nlg.generate("utter_faq/visit_going_home", later, "rest")
    assert message is not None
    reminder, answer = message["text"].split("\n\n", 1)
    assert "call 911 now" in reminder.lower() and "do not drive" in reminder.lower()
    assert "do not come to the clinic" in reminder
    assert "Reminder" not in answer


async def test_the_reminder_comes_once_per_turn_and_ends_with_the_all_clear(
    nlg: ClinicNLG,
) -> None:
    from rasa.shared.core.events import ActionExecuted, BotUttered

    question = {"intent": {"name": "faq", "confidence": 0.9}}
    said = escalated(UserUttered("how long?", question["intent"], [], question))
    said.update(BotUttered("first reply"))
    message = await nlg.generate("utter_faq/duration", said, "rest")
    assert message is not None and message["text"].startswith("Duration:")

    clear = {"intent": {"name": "red_flag_all_clear", "confidence": 1.0}}
    here = escalated(UserUttered("the ambulance is here", clear["intent"], [], clear))
    message = await nlg.generate("utter_all_clear", here, "rest")
    assert message is not None and message["text"].startswith("I'm glad")
    after = escalated(
        UserUttered("the ambulance is here", clear["intent"], [], clear),
        BotUttered("glad"),
        UserUttered("how long?", question["intent"], [], question),
    )
    message = await nlg.generate("utter_faq/duration", after, "rest")
    assert message is not None and message["text"].startswith("Duration:")
    # A new session starts clear.
    fresh = escalated(
        ActionExecuted("action_session_start"),
        UserUttered("how long?", question["intent"], [], question),
    )
    message = await nlg.generate("utter_faq/duration", fresh, "rest")
    assert message is not None and message["text"].startswith("Duration:")


async def test_a_yes_to_the_safety_question_escalates_with_its_symptoms(nlg: ClinicNLG) -> None:
    unsure = {
        "intent": {"name": "red_flag_check_urgent", "confidence": 1.0},
        "red_flag_check": {"level": "urgent", "symptoms": ["ptosis"], "answer": None},
    }
    yes = {"intent": {"name": "affirm", "confidence": 1.0}}
    events = [
        UserUttered("my eyelid is drooping a bit", unsure["intent"], [], unsure),
        UserUttered("yes", yes["intent"], [], yes),
    ]
    said = DialogueStateTracker.from_events("unit", events)
    message = await nlg.generate("utter_escalation_urgent", said, "rest")
    assert message is not None
    assert message["custom"] == {"escalation": {"level": "urgent", "symptoms": ["ptosis"]}}


async def test_spanish_messages_get_spanish_instructions_and_notices(nlg: ClinicNLG) -> None:
    spanish = {
        "intent": {"name": "red_flag_emergency", "confidence": 1.0},
        "message_language": "es",
        "red_flag": {"level": "emergency", "symptoms": ["difficulty_breathing"]},
    }
    message = await nlg.generate("utter_escalation_emergency", tracker(spanish), "rest")
    assert message is not None
    assert message["text"].startswith("Esto podría ser una emergencia") and "911" in message["text"]
    assert message["custom"] == {
        "escalation": {"level": "emergency", "symptoms": ["difficulty_breathing"]}
    }
    question = {"intent": {"name": "nlu_fallback"}, "message_language": "es"}
    for asked in ("utter_clarify", "utter_ask_rephrase", "utter_out_of_scope"):
        notice = await nlg.generate(asked, tracker(question), "rest")
        assert notice is not None and notice["text"].startswith("Lo siento"), asked
        assert "buttons" not in notice or not notice["buttons"]
    english = await nlg.generate("utter_escalation_emergency", tracker({}), "rest")
    assert english is not None and english["text"].startswith("This could be")


async def test_reaching_the_clinic_ends_an_urgent_state_but_not_an_emergency(
    nlg: ClinicNLG,
) -> None:
    from rasa.shared.core.events import BotUttered

    called = {
        "intent": {"name": "red_flag_all_clear", "confidence": 1.0},
        "red_flag_all_clear_ends": "urgent",
    }
    question = {"intent": {"name": "faq", "confidence": 0.9}}
    said = UserUttered("I called the clinic, they see me at 3", called["intent"], [], called)

    def next_turn(level: str) -> DialogueStateTracker:
        """Escalated at ``level``, "I called the clinic" answered, then a question."""
        later = UserUttered("how long?", question["intent"], [], question)
        return escalated_at(level, said, BotUttered("reply"), later)

    message = await nlg.generate("utter_all_clear", escalated_at("urgent", said), "rest")
    assert message is not None and message["text"].startswith("I'm glad")
    message = await nlg.generate("utter_faq/duration", next_turn("urgent"), "rest")
    assert message is not None and message["text"].startswith("Duration:")

    # An emergency is for 911: the reminder alone, no "I'm glad", and it stays.
    message = await nlg.generate("utter_all_clear", escalated_at("emergency", said), "rest")
    assert message is not None and "call 911 now" in message["text"].lower()
    assert "glad" not in message["text"]
    message = await nlg.generate("utter_faq/duration", next_turn("emergency"), "rest")
    assert message is not None and "call 911 now" in message["text"].lower()


def asked_then(later: UserUttered) -> DialogueStateTracker:
    """The safety question asked (not escalated), then the patient's ``later`` message."""
    from rasa.shared.core.events import ActionExecuted, BotUttered

    check = {"intent": {"name": "red_flag_check_emergency", "confidence": 1.0}}
    events = [
        ActionExecuted("action_session_start"),
        UserUttered("talking makes me puffed", check["intent"], [], check),
        BotUttered(
            "Is this happening now?", {}, {"utter_action": "utter_safety_question_emergency"}
        ),
        later,
    ]
    return DialogueStateTracker.from_events("unit", events)


async def test_a_reply_to_the_safety_question_that_is_not_a_no_keeps_the_safety_line(
    nlg: ClinicNLG,
) -> None:
    wait = {"intent": {"name": "faq", "confidence": 0.9}}
    message = await nlg.generate(
        "utter_faq/duration",
        asked_then(UserUttered("can it wait till monday?", wait["intent"], [], wait)),
        "rest",
    )
    assert message is not None
    line, answer = message["text"].split("\n\n", 1)
    assert "call 911 now" in line and "do not drive" in line and answer.startswith("Duration:")

    no = {"intent": {"name": "deny", "confidence": 1.0}}
    message = await nlg.generate(
        "utter_faq/duration", asked_then(UserUttered("no", no["intent"], [], no)), "rest"
    )
    assert message is not None and message["text"].startswith("Duration:")


async def test_a_spanish_risk_question_gets_what_to_do_in_spanish(nlg: ClinicNLG) -> None:
    """The risk answer is the sheet's English text; the safety note after it is Spanish."""
    risk = {"intent": {"name": "faq", "confidence": 1.0}, "message_language": "es"}
    message = await nlg.generate("utter_faq/serious_risks", tracker(risk), "rest")
    assert message is not None
    answer, note = message["text"].split("\n\n")
    assert answer.startswith("Rare but serious side effects")
    assert note.startswith("Si tiene dificultad para respirar") and "llame al 911" in note
