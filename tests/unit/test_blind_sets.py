"""The blind-set scorer: loading, the text-message slice, clarifications as misses, turns."""

from __future__ import annotations

from pathlib import Path
from typing import Dict, List

from evaluation.blind_sets import (
    BLIND_CONVERSATIONS,
    BLIND_NLU,
    DEV_SETS,
    Conversation,
    Phrasing,
    Turn,
    label_of_response,
    load_conversations,
    load_phrasings,
    score_conversations,
    score_phrasings,
)

NLU = """
version: "3.1"
nlu:
- intent: faq/onset
  metadata: {style: sms}
  examples: |
    - wen does it kick in
- intent: faq/onset
  examples: |
    - When will I feel it working?
    - How soon does it help?
"""


def test_phrasings_keep_their_style(tmp_path: Path) -> None:
    path = tmp_path / "set.yml"
    path.write_text(NLU, "utf-8")
    assert load_phrasings(path) == [
        Phrasing("wen does it kick in", "faq/onset", "sms"),
        Phrasing("When will I feel it working?", "faq/onset", "plain"),
        Phrasing("How soon does it help?", "faq/onset", "plain"),
    ]


def test_a_clarification_is_a_miss_and_the_sms_slice_is_its_own() -> None:
    phrasings = [
        Phrasing("a", "faq/onset", "sms"),
        Phrasing("b", "faq/onset", "sms"),
        Phrasing("c", "faq/duration", "plain"),
        Phrasing("d", "greet", "plain"),
    ]
    got = {"a": "faq/onset", "b": "nlu_fallback", "c": "faq/duration", "d": "thank"}
    scores = score_phrasings(phrasings, got.__getitem__)
    assert (scores.accuracy, scores.sms_accuracy, scores.n_sms) == (0.5, 0.5, 2)
    assert scores.clarified == 1
    assert scores.errors == (("faq/onset", "nlu_fallback", "b"), ("greet", "thank", "d"))


def test_turns_are_scored_in_their_own_conversation() -> None:
    conversations = [
        Conversation("c1", "plain", (Turn("hi", "greet"), Turn("and?", "faq/onset"))),
        Conversation("c2", "sms", (Turn("and?", "faq/onset"),)),
    ]
    seen: Dict[str, List[str]] = {}

    def reply(sender: str, text: str) -> str:
        seen.setdefault(sender, []).append(text)
        # Only a conversation that was greeted first gets the follow-up right.
        if text == "hi":
            return "greet"
        return "faq/onset" if seen[sender][0] == "hi" else "nlu_fallback"

    scores = score_conversations(conversations, reply)
    assert scores.n_turns == 3
    assert abs(scores.turns_right - 2 / 3) < 1e-9
    assert scores.conversations_all_right == 0.5
    assert scores.errors == (("c2", 0, "faq/onset", "nlu_fallback"),)
    assert len(seen) == 2


def test_responses_map_to_the_labels_the_sets_use() -> None:
    assert label_of_response("utter_faq/onset") == "faq/onset"
    assert label_of_response("utter_contact") == "human_handoff"
    assert label_of_response("utter_clarify") == "nlu_fallback"
    assert label_of_response("utter_clarify_rephrase") == "nlu_fallback"
    assert label_of_response("utter_escalation_emergency") == "utter_escalation_emergency"


def test_the_dev_sets_load_and_the_test_sets_exist() -> None:
    """The dev sets are read here; the untouched test sets are only checked to exist."""
    for name in DEV_SETS:
        phrasings = load_phrasings(BLIND_NLU[name])
        assert len(phrasings) >= 100 and {p.style for p in phrasings} == {"sms", "plain"}
        conversations = load_conversations(BLIND_CONVERSATIONS[name])
        assert conversations and all(c.turns for c in conversations)
    assert BLIND_NLU["test"].exists() and BLIND_CONVERSATIONS["test"].exists()
