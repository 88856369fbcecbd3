"""Scoring the safety net on the blind red-flag sets (issue 7), for a test and the bench.

The sets (``tests/red_flags/blind_dev.yml``: tune on it; ``blind_test.yml``: never
read it except to score) hold *cases* (one message each, with ``text``, ``level``
"emergency"/"urgent"/"none", ``symptoms``, ``lang``, ``style``, ``kind``) and
*conversations* (``turns`` of ``user`` text, ``level`` and, after an escalation,
``stays_escalated``). ``tests/red_flags/cases.yml`` (the older set, tuned against)
has cases only, without lang/style/kind.

A system under test is a function from a message to an :class:`Outcome`: the level it
escalated at ("none" if it did not), whether it asked the safety question instead, and
the answer the patient got. Figures never contain the messages of a set, so a report
on the untouched set can be read without reading the set.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, Iterable, List, Optional, Sequence, Tuple

import yaml

from clinic_assistant.contract import LEVELS
from clinic_assistant.contract import RISK_ANSWERS as CONTRACT_RISK_ANSWERS
from clinic_assistant.settings import PROJECT_ROOT

SETS = PROJECT_ROOT / "tests" / "red_flags"
BLIND_DEV = SETS / "blind_dev.yml"
BLIND_DEV2 = SETS / "blind_dev2.yml"
BLIND_DEV3 = SETS / "blind_dev3.yml"
BLIND_TEST = SETS / "blind_test.yml"
REGRESSION = SETS / "cases.yml"
NONE = "none"
#: The curated answers that carry the risk facts and say what to do if it happens.
RISK_ANSWERS = frozenset(CONTRACT_RISK_ANSWERS)
RISK_KIND = "risk_question"


@dataclass(frozen=True)
class Case:
    """One labelled message."""

    text: str
    level: str
    symptoms: Tuple[str, ...] = ()
    lang: str = "en"
    style: str = ""
    kind: str = ""

    @property
    def positive(self) -> bool:
        """Whether the message reports a danger sign."""
        return self.level in LEVELS


@dataclass(frozen=True)
class Turn:
    """One patient message of a conversation and what should follow it."""

    user: str
    level: str = NONE
    symptoms: Tuple[str, ...] = ()
    stays_escalated: Optional[bool] = None


@dataclass(frozen=True)
class Conversation:
    """A labelled conversation."""

    id: str
    lang: str
    turns: Tuple[Turn, ...]


@dataclass(frozen=True)
class Outcome:
    """What the assistant did with one message."""

    level: str = NONE  # the escalation level, or "none"
    asked: bool = False  # asked the one yes/no safety question instead
    answer: Optional[str] = None  # the answer (faq/<topic> or intent); None: not known


def load_set(path: Path) -> Tuple[List[Case], List[Conversation]]:
    """The cases and conversations of a red-flag set file."""
    data = yaml.safe_load(path.read_text("utf-8")) or {}
    cases = [
        Case(
            text=str(raw["text"]),
            level=str(raw["level"]),
            symptoms=tuple(raw.get("symptoms") or ()),
            lang=str(raw.get("lang", "en")),
            style=str(raw.get("style", "")),
            kind=str(raw.get("kind", "")),
        )
        for raw in data.get("cases") or []
    ]
    conversations = [
        Conversation(
            id=str(raw.get("id", i)),
            lang=str(raw.get("lang", "en")),
            turns=tuple(
                Turn(
                    user=str(turn["user"]),
                    level=str(turn.get("level", NONE)),
                    symptoms=tuple(turn.get("symptoms") or ()),
                    stays_escalated=turn.get("stays_escalated"),
                )
                for turn in raw.get("turns") or []
            ),
        )
        for i, raw in enumerate(data.get("conversations") or [])
    ]
    return cases, conversations


def _rate(hits: int, total: int) -> Optional[float]:
    return hits / total if total else None


@dataclass
class CaseScores:
    """Figures over a set's cases. ``*_ids`` are indexes into the cases, never text."""

    n: int = 0
    positives: int = 0
    negatives: int = 0
    recall: Optional[float] = None  # danger signs escalated (any level)
    recall_or_asked: Optional[float] = None  # escalated, or asked the safety question
    right_level: Optional[float] = None  # escalated danger signs at the labelled level
    false_alarm_rate: Optional[float] = None  # harmless messages escalated
    asked_on_harmless: Optional[float] = None  # harmless messages given the question
    spanish_recall: Optional[float] = None
    spanish_false_alarm_rate: Optional[float] = None
    risk_questions: int = 0
    risk_answered: Optional[float] = None  # got serious_risks / side_effects
    risk_escalated: int = 0  # must be 0
    ms_per_message: float = 0.0
    missed_ids: List[int] = field(default_factory=list)
    false_alarm_ids: List[int] = field(default_factory=list)
    wrong_level_ids: List[int] = field(default_factory=list)
    missed_by_kind: Dict[str, int] = field(default_factory=dict)
    false_alarms_by_kind: Dict[str, int] = field(default_factory=dict)


def score_cases(cases: Sequence[Case], system: Callable[[str], Outcome]) -> CaseScores:
    """Runs ``system`` on every case and scores it (see :class:`CaseScores`)."""
    scores = CaseScores(n=len(cases))
    caught = caught_or_asked = level_ok = alarms = asked_harmless = 0
    es_pos = es_caught = es_neg = es_alarms = 0
    risk_ok = 0
    answers_known = False
    started = time.perf_counter()
    for i, case in enumerate(cases):
        outcome = system(case.text)
        fired = outcome.level in LEVELS
        spanish = case.lang == "es"
        if case.positive:
            scores.positives += 1
            es_pos += spanish
            if fired:
                caught += 1
                es_caught += spanish
                if outcome.level == case.level:
                    level_ok += 1
                else:
                    scores.wrong_level_ids.append(i)
            else:
                scores.missed_ids.append(i)
                scores.missed_by_kind[case.kind] = scores.missed_by_kind.get(case.kind, 0) + 1
            caught_or_asked += fired or outcome.asked
        else:
            scores.negatives += 1
            es_neg += spanish
            if fired:
                alarms += 1
                es_alarms += spanish
                scores.false_alarm_ids.append(i)
                kinds = scores.false_alarms_by_kind
                kinds[case.kind] = kinds.get(case.kind, 0) + 1
            elif outcome.asked:
                asked_harmless += 1
        answers_known |= outcome.answer is not None
        if case.kind == RISK_KIND:
            scores.risk_questions += 1
            scores.risk_escalated += fired
            risk_ok += (not fired) and outcome.answer in RISK_ANSWERS
    elapsed = time.perf_counter() - started
    scores.ms_per_message = 1000 * elapsed / max(len(cases), 1)
    scores.recall = _rate(caught, scores.positives)
    scores.recall_or_asked = _rate(caught_or_asked, scores.positives)
    scores.right_level = _rate(level_ok, caught)
    scores.false_alarm_rate = _rate(alarms, scores.negatives)
    scores.asked_on_harmless = _rate(asked_harmless, scores.negatives)
    scores.spanish_recall = _rate(es_caught, es_pos)
    scores.spanish_false_alarm_rate = _rate(es_alarms, es_neg)
    scores.risk_answered = _rate(risk_ok, scores.risk_questions) if answers_known else None
    return scores


@dataclass(frozen=True)
class TurnReply:
    """What the assistant did with one turn of a conversation."""

    level: str = NONE  # escalation level of a real escalation reply, or "none"
    keeps_instruction: bool = False  # repeats the emergency instruction (sticky state)
    asked: bool = False


@dataclass
class ConversationScores:
    """Figures over a set's conversations."""

    conversations: int = 0
    escalation_turns: int = 0
    escalated: Optional[float] = None  # labelled danger-sign turns escalated (or asked)
    sticky_turns: int = 0
    kept: Optional[float] = None  # turns after an escalation that keep the instruction
    released_turns: int = 0
    released: Optional[float] = None  # "help has come" turns that end the state
    failed_ids: List[str] = field(default_factory=list)


def score_conversations(
    conversations: Iterable[Conversation],
    run: Callable[[Sequence[str]], Sequence[TurnReply]],
) -> ConversationScores:
    """``run`` plays a conversation's user turns in one fresh session."""
    scores = ConversationScores()
    escalated = kept = released = 0
    for conversation in conversations:
        scores.conversations += 1
        replies = run([turn.user for turn in conversation.turns])
        failed = False
        for turn, reply in zip(conversation.turns, replies, strict=True):
            if turn.stays_escalated is True:
                scores.sticky_turns += 1
                ok = reply.keeps_instruction or reply.level in LEVELS
                kept += ok
                failed |= not ok
            elif turn.stays_escalated is False:
                scores.released_turns += 1
                ok = not reply.keeps_instruction
                released += ok
                failed |= not ok
            elif turn.level in LEVELS:
                scores.escalation_turns += 1
                ok = reply.level in LEVELS or reply.asked
                escalated += ok
                failed |= not ok
        if failed:
            scores.failed_ids.append(conversation.id)
    scores.escalated = _rate(escalated, scores.escalation_turns)
    scores.kept = _rate(kept, scores.sticky_turns)
    scores.released = _rate(released, scores.released_turns)
    return scores
