"""The policies' view of a conversation: the last turns, the slots at the cut."""

from __future__ import annotations

from typing import List

import yaml
from rasa.shared.core.events import (
    ActionExecuted,
    ActiveLoop,
    BotUttered,
    Event,
    SessionStarted,
    SlotSet,
    UserUttered,
)
from rasa.shared.core.slots import TextSlot
from rasa.shared.core.trackers import DialogueStateTracker

from clinic_assistant.trackers.window import KEEP_TURNS, policy_view
from tests.conftest import ROOT

LISTEN = "action_listen"


def turn(n: int) -> List[Event]:
    return [
        ActionExecuted(LISTEN),
        UserUttered(f"question {n}", {"name": "faq", "confidence": 1.0}),
        ActionExecuted("utter_faq"),
        BotUttered(f"answer {n}"),
    ]


def tracker_of(events: List[Event]) -> DialogueStateTracker:
    slot = TextSlot("escalation_ref", mappings=[], influence_conversation=False)
    return DialogueStateTracker.from_events("patient", events, slots=[slot])


def session(turns: int, before: List[Event] | None = None) -> DialogueStateTracker:
    events: List[Event] = [ActionExecuted("action_session_start"), SessionStarted()]
    events += before or []
    for n in range(turns):
        events += turn(n)
    events.append(ActionExecuted(LISTEN))
    return tracker_of(events)


def texts(tracker: DialogueStateTracker) -> List[str]:
    return [str(e.text) for e in tracker.events if isinstance(e, UserUttered)]


def test_a_short_conversation_is_given_whole() -> None:
    tracker = session(KEEP_TURNS)
    assert policy_view(tracker) is tracker


def test_a_long_one_keeps_the_last_turns_from_the_listen_before_them() -> None:
    tracker = session(40)
    view = policy_view(tracker)
    assert texts(view) == [f"question {n}" for n in range(40 - KEEP_TURNS, 40)]
    assert view.latest_action_name == tracker.latest_action_name == LISTEN
    assert view.latest_message.text == tracker.latest_message.text
    first = next(e for e in view.events if isinstance(e, ActionExecuted))
    assert first.action_name == LISTEN
    assert view.sender_id == tracker.sender_id
    # The real conversation is left as it was.
    assert len(texts(tracker)) == 40


def test_slot_values_set_before_the_cut_are_carried() -> None:
    tracker = session(30, before=[SlotSet("escalation_ref", "E-1")])
    view = policy_view(tracker)
    assert view.get_slot("escalation_ref") == "E-1"
    assert view.current_slot_values() == tracker.current_slot_values()


def test_only_the_current_session_counts() -> None:
    events: List[Event] = []
    for n in range(20):
        events += turn(n)
    events += [ActionExecuted("action_session_start"), SessionStarted()]
    events += [*turn(100), ActionExecuted(LISTEN)]
    tracker = tracker_of(events)
    # The new session holds one message: nothing to trim, the policies see it whole.
    assert policy_view(tracker) is tracker


def test_a_conversation_with_a_loop_is_not_trimmed() -> None:
    tracker = session(30, before=[ActiveLoop("some_form"), ActiveLoop(None)])
    assert policy_view(tracker) is tracker


def test_no_rule_spans_more_messages_than_the_view_keeps() -> None:
    longest = 0
    for path in sorted((ROOT / "data" / "rules").glob("*.yml")):
        for rule in yaml.safe_load(path.read_text("utf-8")).get("rules", []):
            assert not rule.get("conversation_start"), rule["rule"]
            messages = sum(1 for step in rule["steps"] if "intent" in step or "user" in step)
            longest = max(longest, messages)
    assert 0 < longest < KEEP_TURNS
