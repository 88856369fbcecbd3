"""Follow-ups: what looks like one, and the previous answer of the session."""

from __future__ import annotations

from typing import Any, Dict, List

import pytest
from rasa.shared.core.events import ActionExecuted, BotUttered, Event, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from clinic_assistant.answers.follow_up import answer_of, is_follow_up, previous_answer


def faq(topic: str) -> Dict[str, Any]:
    """Parse data of a message answered with ``faq/<topic>``."""
    return {
        "intent": {"name": "faq", "confidence": 0.9},
        "response_selector": {
            "faq": {"response": {"intent_response_key": f"faq/{topic}"}, "ranking": []}
        },
    }


def tracker(*events: Event) -> DialogueStateTracker:
    return DialogueStateTracker.from_events("patient", list(events))


@pytest.mark.parametrize(
    "text",
    [
        "does aspirin count?",
        "Is that test always done?",
        "Should I worry about those or are they expected at all after a few weeks?",
        "and the EMG, what's that for?",
        "What about the MRI scan before the first visit next month?",
    ],
)
def test_short_pointing_or_continuing_messages_are_follow_ups(text: str) -> None:
    assert is_follow_up(text, max_words=5)


@pytest.mark.parametrize(
    "text",
    [
        "How long does the Botox keep working before I need more?",
        "What should I bring with me on the day of my appointment?",
    ],
)
def test_a_full_question_of_its_own_is_not(text: str) -> None:
    assert not is_follow_up(text, max_words=5)


def test_the_previous_messages_answer_is_read() -> None:
    events: List[Event] = [
        ActionExecuted("action_session_start"),
        UserUttered("which medicines?", parse_data=faq("prepare_medicines")),  # type: ignore[arg-type]
        BotUttered("Tell us about ..."),
    ]
    assert previous_answer(tracker(*events)) == "faq/prepare_medicines"


def test_a_previous_message_without_an_answer_gives_no_context() -> None:
    events: List[Event] = [
        UserUttered("which medicines?", parse_data=faq("prepare_medicines")),  # type: ignore[arg-type]
        UserUttered("hello", parse_data={"intent": {"name": "greet"}}),  # type: ignore[arg-type]
    ]
    assert previous_answer(tracker(*events)) is None


def test_a_new_session_forgets_the_previous_answer() -> None:
    events: List[Event] = [
        UserUttered("which medicines?", parse_data=faq("prepare_medicines")),  # type: ignore[arg-type]
        ActionExecuted("action_session_start"),
    ]
    assert previous_answer(tracker(*events)) is None
    assert previous_answer(None) is None


def test_answer_of_reads_only_retrieval_answers() -> None:
    assert answer_of(faq("onset")) == "faq/onset"
    assert answer_of({"intent": {"name": "greet"}}) is None
    assert answer_of({"intent": {"name": "faq"}}) is None
