"""The escalations page's board: the escalation records themselves, with their marks."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone

from clinic_assistant.channels import twilio_store
from clinic_assistant.console import escalation_board
from clinic_assistant.escalations import store
from clinic_assistant.escalations.model import Escalation, new_ref
from clinic_assistant.escalations.service import EscalationService
from clinic_assistant.settings import load_settings

NOW = datetime.now(timezone.utc)


def _service(db_url: str) -> EscalationService:
    return EscalationService(replace(load_settings({}), db_url=db_url))


def _record(db_url: str, conversation: str, status: str = "sent", minutes_ago: float = 0) -> int:
    when = NOW - timedelta(minutes=minutes_ago)
    sighting = Escalation(
        ref=new_ref(),
        conversation_id=conversation,
        channel="twilio" if conversation.startswith("sms") else "rest",
        level="emergency",
        symptoms=("difficulty_breathing",),
        message="words",
        created_at=when,
        last_seen_at=when,
        notification_status=status,
    )
    escalation_id = store.record(sighting, db_url=db_url).escalation.id
    assert escalation_id is not None
    return escalation_id


def test_marks_failed_and_stale_notices_and_undelivered_text_replies(any_db_url: str) -> None:
    service = _service(any_db_url)
    failed = _record(any_db_url, "web-failed", "failed", minutes_ago=3)
    stale = _record(any_db_url, "web-stale", "pending", minutes_ago=11)  # default: 10 minutes
    fresh = _record(any_db_url, "web-fresh", "pending", minutes_ago=1)
    texted = _record(any_db_url, "sms-1", minutes_ago=2)
    delivered = _record(any_db_url, "sms-2", minutes_ago=2)
    for conversation, status in (("sms-1", "send_failed"), ("sms-2", "sent")):
        twilio_store.new_outbound(
            any_db_url,
            conversation_id=conversation,
            inbound_sid=None,
            kind="escalation",
            escalation_level="emergency",
            segments=1,
            status=status,
        )
    # An older failed reply in a conversation whose new escalation began later: not this one's.
    later = _record(any_db_url, "sms-3", minutes_ago=0)
    twilio_store.new_outbound(
        any_db_url,
        conversation_id="sms-3",
        inbound_sid=None,
        kind="escalation",
        escalation_level="urgent",
        segments=1,
        status="failed",
    )
    with twilio_store.get_engine(any_db_url).begin() as connection:
        connection.execute(
            twilio_store.outbound.update()
            .where(twilio_store.outbound.c.conversation_id == "sms-3")
            .values(created_at=NOW - timedelta(days=2))
        )
    twilio_store.dispose_engines()

    board = {item.record.id: item for item in escalation_board.open_escalations(service)}
    # Newest first; the two written for the same moment, the later record first.
    assert list(board) == [later, fresh, delivered, texted, failed, stale]
    assert board[failed].notice_problem == "notice failed"
    assert board[stale].notice_problem == "notice still pending"
    assert board[fresh].notice_problem is None
    assert board[texted].reply_failed and not board[delivered].reply_failed
    assert not board[failed].reply_failed and not board[later].reply_failed
    assert escalation_board.count_open(service) == 6


def test_acknowledge_and_resolve_name_the_person_and_the_first_one_stands(db_url: str) -> None:
    service = _service(db_url)
    escalation_id = _record(db_url, "web-1")
    assert escalation_board.acknowledge(service, escalation_id, "sam")
    assert not escalation_board.acknowledge(service, escalation_id, "ada")
    assert escalation_board.resolve(service, escalation_id, "ada", "Called back; fine")
    assert not escalation_board.resolve(service, escalation_id, "sam", "again")
    assert not escalation_board.acknowledge(service, escalation_id + 99, "sam")
    record = store.get_escalation(escalation_id, db_url=db_url)
    assert record is not None
    assert (record.acknowledged_by, record.resolved_by) == ("sam", "ada")
    assert record.resolution_note == "Called back; fine"
    assert escalation_board.open_escalations(service) == []
    [done] = escalation_board.recently_resolved(service)
    assert done.record.id == escalation_id
    assert [i.record.id for i in escalation_board.for_conversation(service, "web-1")] == [
        escalation_id
    ]
