"""The conversation contract: the names the NLU, the replies, the actions and the
staff tools agree on, in one place.

Everything here is a name that appears in ``domain/``, ``data/rules/``, the NLU
pipeline's output or the escalation payload (GUIDE.md "Contracts"). Code reads
the names from here instead of repeating the strings, and
``tests/unit/test_contract.py`` ties this module to the domain and the rules.

This module imports nothing from Rasa, so the red-flag engine, the staff tools
and the bench can use it without loading Rasa.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Optional, Tuple

# --- Levels ------------------------------------------------------------------
EMERGENCY = "emergency"
URGENT = "urgent"
#: Red-flag levels, highest first (the highest found in a message wins).
LEVELS: Tuple[str, ...] = (EMERGENCY, URGENT)

# --- Intents -----------------------------------------------------------------
#: Intents set by the RedFlagClassifier, by level (never learned from data).
INTENT_BY_LEVEL: Dict[str, str] = {EMERGENCY: "red_flag_emergency", URGENT: "red_flag_urgent"}
LEVEL_BY_INTENT: Dict[str, str] = {intent: level for level, intent in INTENT_BY_LEVEL.items()}
RED_FLAG_INTENTS: Tuple[str, ...] = tuple(INTENT_BY_LEVEL.values())
#: Set by the RedFlagClassifier when a message may describe a danger sign now but
#: the safety net is unsure: the rules then ask the yes/no safety question of that level.
CHECK_INTENT_BY_LEVEL: Dict[str, str] = {
    EMERGENCY: "red_flag_check_emergency",
    URGENT: "red_flag_check_urgent",
}
CHECK_INTENTS: Tuple[str, ...] = tuple(CHECK_INTENT_BY_LEVEL.values())
#: Set by the RedFlagClassifier when the patient says help has come or it has passed,
#: or that they reached the clinic.
ALL_CLEAR_INTENT = "red_flag_all_clear"
#: Parse-data key beside it: the most serious level the message ends. Help that has
#: come ends any ("emergency"); reaching the clinic ends only an urgent state, since
#: an emergency is for the emergency number, not the clinic.
ALL_CLEAR_ENDS_KEY = "red_flag_all_clear_ends"
#: The trained yes / no intents; a bare "yes" / "sí" / "no" is set to them by the
#: RedFlagClassifier too, so the rules read it against the question just asked.
AFFIRM_INTENT = "affirm"
DENY_INTENT = "deny"
#: The retrieval intent of the curated answers (``faq/<topic>``) and the parse-data
#: key where the ResponseSelector (and the components after it) put the chosen one.
RETRIEVAL_INTENT = "faq"
RESPONSE_SELECTOR_KEY = "response_selector"
#: Set by the AnswerGate: answers too close to call (clarify with buttons).
FALLBACK_INTENT = "nlu_fallback"
#: Set by the AnswerGate: empty, emoji, gibberish or another language.
UNREADABLE_INTENT = "unreadable_input"
OUT_OF_SCOPE_INTENT = "out_of_scope"

# --- Entities and parse-data keys ----------------------------------------------
#: One entity per canonical red-flag symptom (its value: the lexicon's name).
SYMPTOM_ENTITY = "red_flag_symptom"
#: Parse-data key the RedFlagClassifier writes: ``{"level": ..., "symptoms": [...]}``.
RED_FLAG_KEY = "red_flag"
#: Parse-data key the RedFlagClassifier writes when a message may describe a danger
#: sign now but the safety net is unsure: ``{"level": ..., "symptoms": [...]}``.
#: ClinicNLG then puts the safety line of that level first in the turn's reply.
RED_FLAG_CHECK_KEY = "red_flag_check"
#: Parse-data key the RedFlagClassifier writes on every message: "en" or "es".
LANGUAGE_KEY = "message_language"
SPANISH = "es"
#: Suffix of a response's Spanish variant (``utter_escalation_emergency_es``).
SPANISH_SUFFIX = "_es"
#: Inside :data:`RED_FLAG_CHECK_KEY`: the answer the NLU had chosen ("faq/onset"), if any.
PAYLOAD_ANSWER = "answer"
#: The safety line, by level (domain/red_flags.yml): what to do if it is happening now.
SAFETY_LINE_BY_LEVEL: Dict[str, str] = {
    EMERGENCY: "utter_safety_line_emergency",
    URGENT: "utter_safety_line_urgent",
}
#: The curated answers that carry the risk facts (and, appended, what to do if it
#: happens); a question about a danger sign as a risk gets the first unless the NLU
#: chose one of them.
RISK_ANSWERS: Tuple[str, ...] = ("faq/serious_risks", "faq/side_effects")
#: Parse-data key the AnswerGate writes: the likeliest answers, ``[{"payload": ...}]``.
ANSWER_OPTIONS_KEY = "answer_options"

# --- Responses, actions, slots ---------------------------------------------------
#: The escalation instructions, by level (domain/red_flags.yml).
RESPONSE_BY_LEVEL: Dict[str, str] = {
    EMERGENCY: "utter_escalation_emergency",
    URGENT: "utter_escalation_urgent",
}
#: The yes/no safety question, by level: the safety line, the answer the patient
#: asked for (if any), then "Is this happening now?" with Yes / No buttons.
SAFETY_QUESTION_BY_LEVEL: Dict[str, str] = {
    EMERGENCY: "utter_safety_question_emergency",
    URGENT: "utter_safety_question_urgent",
}
#: Put first in every later reply of an escalated session, until the all clear.
REMINDER_BY_LEVEL: Dict[str, str] = {
    EMERGENCY: "utter_escalation_reminder_emergency",
    URGENT: "utter_escalation_reminder_urgent",
}
CLARIFY_RESPONSE = "utter_clarify"
#: Records the escalation and notifies the clinic (actions/escalation.py).
RECORD_ESCALATION_ACTION = "action_record_escalation"
#: Slot the action sets to the escalation's reference: staff tools join a
#: conversation to its escalation record on it.
ESCALATION_REF_SLOT = "escalation_ref"

# --- The escalation payload -------------------------------------------------------
#: ``{"escalation": {"level": ..., "symptoms": [...]}}`` in a reply's ``custom``.
ESCALATION_KEY = "escalation"
PAYLOAD_LEVEL = "level"
PAYLOAD_SYMPTOMS = "symptoms"


@dataclass(frozen=True)
class RedFlag:
    """A danger sign in one message: its level and canonical symptom names."""

    level: str
    symptoms: Tuple[str, ...]

    def payload(self) -> Dict[str, Any]:
        """The escalation payload of the reply's ``custom`` object."""
        return {ESCALATION_KEY: {PAYLOAD_LEVEL: self.level, PAYLOAD_SYMPTOMS: list(self.symptoms)}}


def _unique(values: List[str]) -> Tuple[str, ...]:
    return tuple(dict.fromkeys(values))


def red_flag_of(parse_data: Optional[Mapping[str, Any]]) -> Optional[RedFlag]:
    """The red flag of a parsed message, or None when it has none.

    The RedFlagClassifier's structured :data:`RED_FLAG_KEY` comes first. Without
    it (a tracker written before that key existed, or a payload that set a
    red-flag intent), the intent gives the level and the :data:`SYMPTOM_ENTITY`
    entities the symptoms, in order and without repeats. Symptom names are not
    checked against the lexicon here: whoever stores them does that.
    """
    if not parse_data:
        return None
    structured = parse_data.get(RED_FLAG_KEY)
    if isinstance(structured, Mapping) and structured.get(PAYLOAD_LEVEL) in LEVELS:
        symptoms = structured.get(PAYLOAD_SYMPTOMS) or []
        if isinstance(symptoms, (list, tuple)):
            return RedFlag(
                str(structured[PAYLOAD_LEVEL]),
                _unique([item for item in symptoms if isinstance(item, str)]),
            )
    intent = parse_data.get("intent") or {}
    level = LEVEL_BY_INTENT.get(str(intent.get("name"))) if isinstance(intent, Mapping) else None
    if level is None:
        return None
    entities = parse_data.get("entities") or []
    return RedFlag(
        level,
        _unique(
            [
                entity["value"]
                for entity in entities
                if isinstance(entity, Mapping)
                and entity.get("entity") == SYMPTOM_ENTITY
                and isinstance(entity.get("value"), str)
            ]
        ),
    )


def escalation_of(custom: Optional[Mapping[str, Any]]) -> Optional[RedFlag]:
    """The escalation a reply's ``custom`` object carries, or None."""
    return _flag_of(custom.get(ESCALATION_KEY) if isinstance(custom, Mapping) else None)


def _flag_of(value: Any) -> Optional[RedFlag]:
    """A ``{"level", "symptoms"}`` mapping as a RedFlag; None when it is not one."""
    if not isinstance(value, Mapping) or value.get(PAYLOAD_LEVEL) not in LEVELS:
        return None
    symptoms = value.get(PAYLOAD_SYMPTOMS) or []
    return RedFlag(
        str(value[PAYLOAD_LEVEL]),
        _unique([s for s in symptoms if isinstance(s, str)] if isinstance(symptoms, list) else []),
    )


def check_of(parse_data: Optional[Mapping[str, Any]]) -> Optional[RedFlag]:
    """The unsure red flag (:data:`RED_FLAG_CHECK_KEY`) of a parsed message, or None."""
    return _flag_of(parse_data.get(RED_FLAG_CHECK_KEY) if parse_data else None)


def confirmed_red_flag(
    latest: Optional[Mapping[str, Any]], previous: Optional[Mapping[str, Any]]
) -> Optional[RedFlag]:
    """The red flag of the latest message, or the one it confirms.

    A "yes" to the safety question carries no danger sign itself: the flag is the
    unsure one of the message the question was about (``previous``).
    """
    found = red_flag_of(latest)
    if found is not None:
        return found
    intent = (latest or {}).get("intent") or {}
    if isinstance(intent, Mapping) and intent.get("name") == AFFIRM_INTENT:
        return check_of(previous)
    return None


def language_of(parse_data: Optional[Mapping[str, Any]]) -> str:
    """The message's language as the RedFlagClassifier read it ("en" by default)."""
    value = parse_data.get(LANGUAGE_KEY) if parse_data else None
    return SPANISH if value == SPANISH else "en"
