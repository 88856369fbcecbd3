"""The full trained NLU escalates every danger sign in the held-out set and
raises almost no false alarms: recall 1.0, false alarms at most 2%."""

from __future__ import annotations

from evaluation.scoring import load_red_flag_cases, score_red_flags
from tests.conftest import Parser

LEVEL_OF_INTENT = {"red_flag_emergency": "emergency", "red_flag_urgent": "urgent"}


def level_of(parse_data: dict) -> str:
    return LEVEL_OF_INTENT.get(parse_data["intent"]["name"], "none")


def test_the_set_is_big_and_balanced() -> None:
    cases = load_red_flag_cases()
    assert len(cases) >= 250
    positives = [c for c in cases if c.level != "none"]
    assert 0.3 < len(positives) / len(cases) < 0.7


def test_recall_is_total_and_false_alarms_rare(parser: Parser) -> None:
    scores = score_red_flags(load_red_flag_cases(), lambda t: level_of(parser.parse(t)))
    assert scores.recall == 1.0, "missed danger signs:\n" + "\n".join(scores.missed)
    assert scores.false_alarm_rate <= 0.02, "false alarms:\n" + "\n".join(scores.false_alarms)


def test_the_level_and_symptoms_match_the_labels(parser: Parser) -> None:
    wrong = []
    for case in load_red_flag_cases():
        if case.level == "none":
            continue
        parse = parser.parse(case.text)
        symptoms = {e["value"] for e in parse["entities"] if e["entity"] == "red_flag_symptom"}
        if level_of(parse) != case.level or not set(case.symptoms) <= symptoms:
            wrong.append(f"{case.text!r}: {level_of(parse)} {sorted(symptoms)}")
    # The level must always be right; a symptom list may be a superset.
    assert not wrong, "\n".join(wrong)


def test_a_danger_sign_overrides_a_confident_faq_intent(parser: Parser) -> None:
    question = "how long does the botox last in my neck?"
    assert parser.parse(question)["intent"]["name"] == "faq"
    parse = parser.parse(question + " also I can't swallow since yesterday")
    assert parse["intent"]["name"] == "red_flag_emergency"
    assert parse["red_flag"] == {"level": "emergency", "symptoms": ["difficulty_swallowing"]}
