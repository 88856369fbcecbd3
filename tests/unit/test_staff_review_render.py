"""make review never prints a client's control characters raw to the staff terminal,
prints no patient's words at all (the console shows those, behind a login), and lists
the escalation texts that did not reach the patient, for a call."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from clinic_assistant.channels import twilio_store
from clinic_assistant.console import tables
from clinic_assistant.escalations.service import EscalationService
from clinic_assistant.escalations.store import get_engine as escalations_engine
from clinic_assistant.settings import load_settings
from clinic_assistant.staff_review import Review, build_review, printable, render

HOSTILE = "help\x1b[2J\x1b]0;owned\x07\x9b31m\u202eevil\r\nfake line\u2028"


def test_control_format_and_separator_characters_are_escaped() -> None:
    shown = printable(HOSTILE)
    assert shown == "help\\x1b[2J\\x1b]0;owned\\x07\\x9b31m\\u202eevil\\r\\nfake line\\u2028"
    assert printable("I can’t swallow 🙂 ¿qué?") == "I can’t swallow 🙂 ¿qué?"  # noqa: RUF001


def test_the_printout_holds_no_raw_control_character() -> None:
    review = Review(
        console_url="http://localhost:8090/",
        total_open=3,
        escalations=[
            {
                "id": 7,
                "level": "emergency",
                "symptoms": ["x\x1b"],
                "channel": "rest\x1b",
                # A conversation id is whatever the client sent.
                "conversation": HOSTILE,
                "created_at": "2026-12-02T10:00:00+00:00",
                "messages": 1,
                "notification": "failed",
                "notice_problem": "notice failed",
                "acknowledged_by": None,
            }
        ],
    )
    text = render(review)
    assert not any(ch in text for ch in "\x1b\x07\x9b\u202e\r\u2028")
    # Only the printout's own line breaks remain.
    assert "fake line" not in [line.strip() for line in text.splitlines()]
    assert "OPEN ESCALATIONS (3, the newest 1 shown)" in text
    assert "#7 [EMERGENCY]" in text and "notice failed" in text and "NEW" in text
    assert "http://localhost:8090/" in text


def _service(db_url: str) -> EscalationService:
    return EscalationService(replace(load_settings({}), db_url=db_url))


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

    review = build_review(_service(db_url))
    listed = {(t["conversation"], t["level"], t["status"]) for t in review.texts_not_delivered}
    assert listed == {
        ("twilio_a", "emergency", "not_sent_opted_out"),
        ("twilio_d", "urgent", "undelivered"),
    }
    text = render(review)
    assert "ESCALATION TEXTS NOT DELIVERED (2): call these patients" in text
    assert "twilio_d - undelivered (Twilio error 30003)" in text
    tables.forget_engines()
    twilio_store.dispose_engines()


def test_without_texts_there_is_no_such_section(tmp_path: Path) -> None:
    db_url = f"sqlite:///{tmp_path / 'assistant.db'}"
    escalations_engine(db_url)
    review = build_review(_service(db_url))
    assert review.texts_not_delivered == []
    assert "NOT DELIVERED" not in render(review)
    tables.forget_engines()
