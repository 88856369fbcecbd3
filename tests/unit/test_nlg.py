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
async def test_an_unsure_red_flag_puts_the_safety_line_first(
    nlg: ClinicNLG, level: str, words: str
) -> None:
    check = {"red_flag_check": {"level": level, "symptoms": []}}
    message = await nlg.generate("utter_faq/duration", tracker(check), "rest")
    assert message is not None
    line, answer = message["text"].split("\n\n", 1)
    assert words in line and answer.startswith("Duration:")
    assert "custom" not in message  # a safety line is not an escalation


async def test_the_safety_line_comes_once_per_turn(nlg: ClinicNLG) -> None:
    from rasa.shared.core.events import BotUttered

    check = {"red_flag_check": {"level": "emergency", "symptoms": []}}
    said = tracker(check)
    said.update(BotUttered("first reply"))
    message = await nlg.generate("utter_faq/duration", said, "rest")
    assert message is not None and message["text"].startswith("Duration:")
    plain = await nlg.generate("utter_faq/duration", tracker({}), "rest")
    assert plain is not None and plain["text"].startswith("Duration:")
