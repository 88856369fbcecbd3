"""How the rules' matches and the second opinion's votes become one decision.

Votes are made by hand here (no encoder), so each threshold is tested on its own.
"""

from __future__ import annotations

from typing import Optional

import pytest

from clinic_assistant.red_flags import decision
from clinic_assistant.red_flags.decision import Assessment, decide
from clinic_assistant.red_flags.detector import Detection
from clinic_assistant.red_flags.second_opinion import Vote
from clinic_assistant.red_flags.segments import pieces
from clinic_assistant.red_flags.tables import Tables, load_tables

LEVELS = {"difficulty_breathing": "emergency", "drooping_eyelids": "urgent"}
ORDER = ("difficulty_breathing", "drooping_eyelids")
NOTHING = Detection(level=None, symptoms=(), matches=())


@pytest.fixture(scope="module")
def tables() -> Tables:
    return load_tables()


def judge(text: str, tables: Tables, score: float, negative: float) -> Assessment:
    """The decision on ``text`` with one vote for drooping eyelids on its first piece."""
    piece = pieces(text)[0]
    vote = Vote("drooping_eyelids", score, negative, piece, nearest="my eyelid droops")
    return decide(text, NOTHING, [vote], tables, LEVELS, ORDER)


def level_or_ask(assessment: Assessment) -> Optional[str]:
    return assessment.level or (f"ask:{assessment.ask_level}" if assessment.ask_level else None)


def test_a_close_vote_with_a_clear_margin_escalates(tables: Tables) -> None:
    score = decision.FLAG_SCORE + 0.01
    assessment = judge("my eye looks odd", tables, score, score - decision.FLAG_MARGIN - 0.01)
    assert level_or_ask(assessment) == "urgent"
    assert assessment.sources == ("second_opinion",)


def test_a_close_vote_with_a_small_margin_only_asks(tables: Tables) -> None:
    score = decision.FLAG_SCORE + 0.05
    assessment = judge("my eye looks odd", tables, score, score - decision.FLAG_MARGIN + 0.01)
    assert level_or_ask(assessment) == "ask:urgent"


def test_a_tiny_margin_asks_only_when_the_sentence_says_now(tables: Tables) -> None:
    score = decision.ASK_SCORE + 0.05
    tiny = score - decision.ASK_MARGIN / 2
    assert level_or_ask(judge("my eye looks odd", tables, score, tiny)) is None
    assert level_or_ask(judge("my eye looks odd right now", tables, score, tiny)) == "ask:urgent"


def test_a_vote_closer_to_a_look_alike_never_counts(tables: Tables) -> None:
    score = decision.FLAG_SCORE + 0.1
    assert level_or_ask(judge("my eye looks odd right now", tables, score, score + 0.01)) is None


def test_a_far_vote_is_nothing(tables: Tables) -> None:
    assert level_or_ask(judge("my eye looks odd now", tables, decision.ASK_SCORE - 0.01, 0)) is None


def test_context_lowers_a_vote(tables: Tables) -> None:
    score = decision.FLAG_SCORE + 0.1
    assessment = judge("my eyelid drooped years ago", tables, score, 0.0)
    assert level_or_ask(assessment) is None


@pytest.mark.parametrize(
    ("text", "look_alike", "risk"),
    [
        ("Can Botox make my eyelid droop?", decision.RISK_LOOK_ALIKE, True),
        ("my eyelid droops, like my friend's did", decision.RISK_LOOK_ALIKE, False),  # no question
        ("Can Botox make my eyelid droop?", "negation", False),  # closer to a denial
    ],
)
def test_a_question_closest_to_a_risk_question_is_one(
    tables: Tables, text: str, look_alike: str, risk: bool
) -> None:
    piece = pieces(text)[0]
    score = decision.ASK_SCORE + 0.05
    vote = Vote("drooping_eyelids", score, score + 0.02, piece, "my eyelid droops", look_alike)
    assessment = decide(text, NOTHING, [vote], tables, LEVELS, ORDER)
    assert assessment.risk_question is risk and not assessment.fired
