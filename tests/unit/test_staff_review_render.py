"""make review: never a patient's control characters raw on the staff terminal, and the
escalation texts that did not reach the patient listed for a call."""

from __future__ import annotations

from pathlib import Path

from clinic_assistant.channels import twilio_store
from clinic_assistant.escalations.store import get_engine as escalations_engine
from clinic_assistant.staff_review import Review, build_review, printable, render

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


def test_escalation_texts_that_did_not_reach_the_patient_are_listed_to_call(
    tmp_path: Path,
) -> None:
    db_url = f"sqlite:///{tmp_path / 'assistant.db'}"
    twilio_store.get_engine(db_url)  # the channel's tables, as the Rasa server makes them
    escalations_engine(db_url)
    for conversation, kind, level, status in (
        ("twilio_a", "escalation", "emergency", "not_sent_opted_out"),
        ("twilio_b", "reply", None, "send_failed"),  # not an escalation: no call
        ("twilio_c", "escalation", "urgent", "queued"),  # on its way
    ):
        twilio_store.new_outbound(
            db_url,
            conversation_id=conversation,
            inbound_sid=None,
            kind=kind,
            escalation_level=level,
            segments=1,
            status=status,
        )
    late = twilio_store.new_outbound(
        db_url,
        conversation_id="twilio_d",
        inbound_sid=None,
        kind="escalation",
        escalation_level="urgent",
        segments=1,
    )
    twilio_store.finish_outbound(
        db_url, late, status="queued", message_sid="SM" + "1" * 32, error_code=None, attempts=1
    )
    twilio_store.apply_status(db_url, "SM" + "1" * 32, "undelivered", 30003)

    review = build_review(db_url)
    listed = {(t["conversation"], t["level"], t["status"]) for t in review.texts_not_delivered}
    assert listed == {
        ("twilio_a", "emergency", "not_sent_opted_out"),
        ("twilio_d", "urgent", "undelivered"),
    }
    text = render(review)
    assert "ESCALATION TEXTS NOT DELIVERED (2): call these patients" in text
    assert "twilio_d - undelivered (Twilio error 30003)" in text


def test_without_texts_there_is_no_such_section(tmp_path: Path) -> None:
    db_url = f"sqlite:///{tmp_path / 'assistant.db'}"
    escalations_engine(db_url)
    review = build_review(db_url)
    assert review.texts_not_delivered == []
    assert "NOT DELIVERED" not in render(review)
