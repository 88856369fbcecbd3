"""The blind FAQ and multi-turn sets: load them, score a design on them.

The sets were written apart from everything in the repo (their headers say by
whom and how). ``*_dev.yml`` may be tuned on; ``*_test.yml`` are the untouched
sets, read only here to be scored, never studied. A clarification counts as a
miss everywhere: the patient did not get the answer yet.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, List, Sequence, Tuple

import yaml

from clinic_assistant.nlu_yaml import read_examples
from clinic_assistant.settings import PROJECT_ROOT

NLU_DIR = PROJECT_ROOT / "tests" / "nlu"
CONVERSATIONS_DIR = PROJECT_ROOT / "tests" / "conversations"
BLIND_NLU = {
    "dev": NLU_DIR / "blind_dev.yml",
    "dev2": NLU_DIR / "blind_dev2.yml",
    "test": NLU_DIR / "blind_test.yml",
}
BLIND_CONVERSATIONS = {
    "dev": CONVERSATIONS_DIR / "blind_dev.yml",
    "dev2": CONVERSATIONS_DIR / "blind_dev2.yml",
    "test": CONVERSATIONS_DIR / "blind_test.yml",
}
# The sets that may be tuned on, in the order they were written.
DEV_SETS = ("dev", "dev2")
SMS = "sms"


@dataclass(frozen=True)
class Phrasing:
    """One labelled message of a blind NLU set."""

    text: str
    answer: str  # faq/<topic> or an intent name
    style: str  # "sms" or "plain"


def load_phrasings(path: Path) -> List[Phrasing]:
    """Every example of a Rasa NLU YAML file whose blocks carry ``metadata: {style}``."""
    return [
        Phrasing(example.text, example.intent, str(example.metadata.get("style", "plain")))
        for example in read_examples(path)
    ]


@dataclass(frozen=True)
class Turn:
    """A patient's message and the one answer expected in reply."""

    user: str
    expect: str


@dataclass(frozen=True)
class Conversation:
    """A multi-turn conversation of a blind set."""

    id: str
    style: str
    turns: Tuple[Turn, ...]


def load_conversations(path: Path) -> List[Conversation]:
    """The conversations of a blind multi-turn set."""
    data = yaml.safe_load(path.read_text("utf-8"))
    return [
        Conversation(
            str(item["id"]),
            str(item.get("style", "plain")),
            tuple(Turn(str(t["user"]), str(t["expect"])) for t in item["turns"]),
        )
        for item in data["conversations"]
    ]


@dataclass(frozen=True)
class SliceScores:
    """Answer accuracy on a blind NLU set, overall and on its text-message slice."""

    accuracy: float
    sms_accuracy: float
    n: int
    n_sms: int
    clarified: int  # misses that were a clarification (counted as misses)
    errors: Tuple[Tuple[str, str, str], ...]  # (expected, got, text)


def score_phrasings(phrasings: Sequence[Phrasing], predict: Callable[[str], str]) -> SliceScores:
    """``predict`` maps a message to the answer it leads to (``nlu_fallback`` for
    a clarification)."""
    right = right_sms = clarified = 0
    errors: List[Tuple[str, str, str]] = []
    for phrasing in phrasings:
        got = predict(phrasing.text)
        if got == phrasing.answer:
            right += 1
            right_sms += phrasing.style == SMS
        else:
            clarified += got == "nlu_fallback"
            errors.append((phrasing.answer, got, phrasing.text))
    n_sms = sum(p.style == SMS for p in phrasings)
    return SliceScores(
        accuracy=right / max(len(phrasings), 1),
        sms_accuracy=right_sms / max(n_sms, 1),
        n=len(phrasings),
        n_sms=n_sms,
        clarified=clarified,
        errors=tuple(errors),
    )


@dataclass(frozen=True)
class TurnScores:
    """Multi-turn: the share of turns whose reply was the expected answer."""

    turns_right: float
    n_turns: int
    conversations_all_right: float
    errors: Tuple[Tuple[str, int, str, str], ...]  # (conversation, turn, expected, got)


def score_conversations(
    conversations: Sequence[Conversation],
    reply: Callable[[str, str], str],
) -> TurnScores:
    """``reply(sender, text)`` sends one message in a conversation kept by sender
    id and returns the answer the patient got (``nlu_fallback`` for a
    clarification). Each conversation gets a sender id of its own."""
    right = total = whole = 0
    errors: List[Tuple[str, int, str, str]] = []
    for conversation in conversations:
        sender = f"blind-{conversation.id}"
        all_right = True
        for index, turn in enumerate(conversation.turns):
            got = reply(sender, turn.user)
            total += 1
            if got == turn.expect:
                right += 1
            else:
                all_right = False
                errors.append((conversation.id, index, turn.expect, got))
        whole += all_right
    return TurnScores(
        turns_right=right / max(total, 1),
        n_turns=total,
        conversations_all_right=whole / max(len(conversations), 1),
        errors=tuple(errors),
    )


RESPONSE_LABELS = {
    "utter_greet": "greet",
    "utter_goodbye": "goodbye",
    "utter_thank": "thank",
    "utter_iamabot": "bot_challenge",
    "utter_contact": "human_handoff",
    "utter_menu": "ask_menu",
    "utter_out_of_scope": "out_of_scope",
    "utter_unreadable": "unreadable_input",
}


def label_of_response(utter_action: str) -> str:
    """The answer label a set expects for the response the patient got first:
    ``utter_faq/onset`` -> ``faq/onset``, ``utter_greet`` -> ``greet``; anything
    else (a clarification, "no luck", an escalation) -> ``nlu_fallback`` or its
    own name, so it never matches an expected answer by accident."""
    if utter_action.startswith("utter_faq/"):
        return utter_action[len("utter_") :]
    if utter_action in RESPONSE_LABELS:
        return RESPONSE_LABELS[utter_action]
    if utter_action.startswith(("utter_clarify", "utter_ask_rephrase", "utter_no_luck")):
        return "nlu_fallback"
    return utter_action
