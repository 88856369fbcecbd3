"""make review never prints a patient's control characters raw to the staff terminal."""

from __future__ import annotations

from clinic_assistant.staff_review import Review, printable, render

HOSTILE = "help\x1b[2J\x1b]0;owned\x07\x9b31m\u202eevil\r\nfake line\u2028"


def test_control_format_and_separator_characters_are_escaped() -> None:
    shown = printable(HOSTILE)
    assert shown == "help\\x1b[2J\\x1b]0;owned\\x07\\x9b31m\\u202eevil\\r\\nfake line\\u2028"
    assert printable("I can’t swallow 🙂 ¿qué?") == "I can’t swallow 🙂 ¿qué?"  # noqa: RUF001


def test_the_report_holds_no_raw_control_character() -> None:
    review = Review(
        escalations=[
            {
                "conversation": "c\x1b1",
                "at": 0,
                "level": "emergency",
                "symptoms": ["x\x1b"],
                "message": HOSTILE,
                "notification": "sent",
            }
        ],
        questions=[("faq/x\x1b", 1)],
        failures=[{"conversation": "c\n2", "kind": "nlu_fallback", "message": HOSTILE, "at": 0}],
    )
    text = render(review)
    assert not any(ch in text for ch in "\x1b\x07\x9b\u202e\r\u2028")
    # Only the report's own line breaks remain.
    assert "fake line" not in [line.strip() for line in text.splitlines()]
