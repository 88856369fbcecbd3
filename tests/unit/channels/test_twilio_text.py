"""SMS rendering, keywords, numbered options and segment counts (no server)."""

from __future__ import annotations

from typing import Any, Dict, List

import pytest

from clinic_assistant.channels.twilio_text import (
    HELP,
    MAX_SMS_CHARS,
    START,
    STOP,
    Option,
    is_gsm7,
    keyword_of,
    option_number,
    pack,
    plain,
    render_turn,
    segments,
)

ESCALATION = {"escalation": {"level": "emergency", "symptoms": ["difficulty_swallowing"]}}
BUTTONS = [
    {"title": "When does it start working?", "payload": "/faq/onset"},
    {"title": "How long does it last?", "payload": "/faq/duration"},
]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("STOP", STOP),
        ("stop", STOP),
        (" Stop. ", STOP),
        ("STOPALL", STOP),
        ("unsubscribe", STOP),
        ("Cancel", STOP),
        ("END", STOP),
        ("quit!", STOP),
        ("START", START),
        ("unstop", START),
        ("yes", START),
        ("HELP", HELP),
        ("info", HELP),
        ("Help?", HELP),
        ("stop the pain", None),
        ("please help me", None),
        ("", None),
        ("ended up sore", None),
    ],
)
def test_keywords_are_the_whole_message(text: str, expected: Any) -> None:
    assert keyword_of(text) == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ("1", 1),
        ("2", 2),
        (" 3 ", 3),
        ("#2", 2),
        ("# 2", 2),
        ("2.", 2),
        ("(3)", 3),
        ("one", 1),
        ("Two", 2),
        ("option 2", 2),
        ("number three", 3),
        ("no. 1", 1),
        ("0", None),
        ("1 2", None),
        ("I had 2 shots", None),
        ("one more thing", None),
        ("hello", None),
        ("", None),
        ("10 weeks?", None),
    ],
)
def test_option_numbers(text: str, expected: Any) -> None:
    assert option_number(text) == expected


def test_buttons_become_one_numbered_list_without_payloads() -> None:
    turn = render_turn([{"text": "Duration: about 10-12 weeks.", "buttons": BUTTONS}])
    assert turn.bodies == (
        "Duration: about 10-12 weeks.\n\nReply with a number:\n"
        "1 When does it start working?\n2 How long does it last?",
    )
    assert turn.options == (
        Option("When does it start working?", "/faq/onset"),
        Option("How long does it last?", "/faq/duration"),
    )
    assert "/faq" not in turn.bodies[0]


def test_the_escalation_instruction_comes_first_before_the_disclaimer() -> None:
    responses: List[Dict[str, Any]] = [
        {"text": "Hello!"},
        {"text": "Call 911 now.", "custom": ESCALATION},
    ]
    turn = render_turn(responses, disclaimer="Automated assistant. Reply STOP to opt out.")
    assert turn.escalation_level == "emergency"
    assert turn.escalation_body == 0
    assert turn.bodies[0].startswith("Call 911 now.\n\nAutomated assistant.")
    assert "escalation" not in turn.bodies[0] and "difficulty_swallowing" not in turn.bodies[0]


def test_no_escalation_without_the_payload() -> None:
    turn = render_turn([{"text": "Hi."}, {"custom": {"other": 1}}])
    assert turn.escalation_level is None and turn.escalation_body is None
    assert turn.bodies == ("Hi.",)


def test_long_texts_are_split_at_line_breaks_within_twilios_limit() -> None:
    lines = [f"- line {i} " + "x" * 90 for i in range(40)]  # ~4,000 characters
    bodies = pack(["\n".join(lines)])
    assert len(bodies) == 3
    assert all(len(body) <= MAX_SMS_CHARS for body in bodies)
    assert "\n".join(bodies).split("\n") == lines  # nothing lost, cut only at breaks


def test_a_single_huge_line_is_cut_at_spaces() -> None:
    words = ["word"] * 1000
    bodies = pack([" ".join(words)])
    assert all(len(body) <= MAX_SMS_CHARS for body in bodies)
    assert " ".join(bodies).split() == words


def test_smart_encoding_keeps_the_words_and_gsm7() -> None:
    text = (
        "Benefits typically last about 10\u201312 weeks \u2014 it\u2019s \u201cnormal\u201d\u2026"
    )
    assert plain(text) == 'Benefits typically last about 10-12 weeks - it\'s "normal"...'
    assert not is_gsm7(text) and is_gsm7(plain(text))


@pytest.mark.parametrize(
    "text, expected",
    [
        ("x" * 160, 1),
        ("x" * 161, 2),
        ("x" * 306, 2),
        ("x" * 307, 3),
        ("é" * 160, 1),  # é is in GSM-7
        ("€" * 80, 1),
        ("€" * 81, 2),  # extension characters count double
        ("\u2013" * 70, 1),
        ("\u2013" * 71, 2),
        ("\u2013" * 134, 2),
        ("\u2013" * 135, 3),  # UCS-2
        ("😀" * 35, 1),
        ("😀" * 36, 2),  # two UTF-16 units each
    ],
)
def test_segments(text: str, expected: int) -> None:
    assert segments(text) == expected
