"""The policies predict the same from the recent view as from the whole conversation.

A long conversation through the trained model (greetings, answers, a clarification,
button clicks, yes/no, a safety question, an emergency and its all clear, twice
over): at every prediction, the policies' output from
:func:`clinic_assistant.trackers.window.policy_view` equals their output from the
whole tracker.
"""

from __future__ import annotations

from typing import List, Tuple

import numpy as np
from rasa.core.policies.policy import PolicyPrediction
from rasa.engine.constants import PLACEHOLDER_TRACKER
from rasa.shared.core.events import UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from clinic_assistant.trackers.window import KEEP_TURNS, policy_view
from tests.conftest import Parser

SCRIPT = [
    "hello",
    "how long does botox last?",
    "when does it start working?",
    "/faq/duration",
    "what should I do to prepare?",
    "do I need to stop aspirin?",
    "thanks",
    "blorf wib",
    "yes",
    "no",
    "talking makes me a bit puffed",
    "yes",
    "can I drive to your office?",
    "help is here now",
    "what are the side effects?",
    "are those normal?",
    "I can't breathe since the injection",
    "what should I do?",
    "the ambulance just arrived",
    "will it hurt?",
    "what tests are involved?",
    "and the EMG, what's that for?",
    "are you a robot?",
    "I want to talk to a person",
    "what's the weather tomorrow?",
    "my voice sounds strange and hoarse since the shots",
    "no",
    "what can you help with?",
    "how often do I need the shots?",
    "bye",
]


def _same(full: PolicyPrediction, view: PolicyPrediction) -> bool:
    return (
        full.max_confidence_index == view.max_confidence_index
        and full.policy_name == view.policy_name
        and np.allclose(full.probabilities, view.probabilities)
        and full.events == view.events
        and full.optional_events == view.optional_events
        and full.is_end_to_end_prediction == view.is_end_to_end_prediction
        and full.is_no_user_prediction == view.is_no_user_prediction
        and full.hide_rule_turn == view.hide_rule_turn
    )


def test_the_recent_view_predicts_what_the_whole_conversation_does(parser: Parser) -> None:
    processor = parser.agent.processor
    assert processor is not None
    target = processor.model_metadata.core_target

    def run(tracker: DialogueStateTracker) -> PolicyPrediction:
        result: PolicyPrediction = processor.graph_runner.run(
            inputs={PLACEHOLDER_TRACKER: tracker}, targets=[target]
        )[target]
        return result

    compared: List[Tuple[int, str, bool]] = []  # (messages so far, action, same)

    def predict(tracker: DialogueStateTracker) -> PolicyPrediction:
        full = run(tracker)
        view = policy_view(tracker)
        if view is not tracker:
            messages = sum(isinstance(event, UserUttered) for event in tracker.events)
            action = processor.domain.action_names_or_texts[full.max_confidence_index]
            compared.append((messages, action, _same(full, run(view))))
        return full

    processor._predict_next_with_tracker = predict  # type: ignore[method-assign]
    try:
        for text in SCRIPT * 2:
            parser.loop.run_until_complete(parser.agent.handle_text(text, sender_id="long"))
    finally:
        del processor._predict_next_with_tracker
    # Every message after the first KEEP_TURNS was predicted from a trimmed view.
    assert {messages for messages, _, _ in compared} == set(
        range(KEEP_TURNS + 1, 2 * len(SCRIPT) + 1)
    )
    assert [c for c in compared if not c[2]] == []
    # The script reached the dialogue's branches, not only answers.
    actions = {action for _, action, _ in compared}
    assert {"utter_clarify", "utter_escalation_emergency", "utter_all_clear"} <= actions, actions
    assert any(action.startswith("utter_safety_question") for action in actions), actions
