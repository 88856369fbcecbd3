"""The staff review reads the real tracker store the servers wrote."""

from __future__ import annotations

import time

import pytest

from clinic_assistant.escalations.store import list_escalations
from clinic_assistant.staff_review import build_review, render
from tests.integration.conftest import Stack

pytestmark = pytest.mark.integration


def test_escalations_first_then_questions_then_failures(stack: Stack) -> None:
    stack.say("review-1", "how long does botox last?")
    stack.say("review-1", "asdkfj qwpoeiru zxmcnv")
    stack.say("review-2", "since the shots I see double")
    stack.say("review-3", "my wife cannot breathe properly")
    review = build_review(f"sqlite:///{stack.db_path}")
    levels = [e["level"] for e in review.escalations]
    assert levels[0] == "emergency" and "urgent" in levels
    assert levels == sorted(levels, key=lambda level: level != "emergency")
    assert ("faq/duration", 1) in review.questions or any(
        name == "faq/duration" for name, _ in review.questions
    )
    assert any(
        f["kind"] == "unreadable_input" and f["conversation"] == "review-1" for f in review.failures
    )
    text = render(review)
    assert text.index("ESCALATIONS") < text.index("WHAT PATIENTS ASK") < text.index("FAILED")
    assert "my wife cannot breathe properly" in text


def test_escalations_join_their_record_by_the_reference_in_the_conversation(
    stack: Stack,
) -> None:
    stack.say("review-ref", "I can't swallow since my botox shots")
    stack.say("review-ref", "I still can't swallow anything")
    db_url = f"sqlite:///{stack.db_path}"
    deadline = time.monotonic() + 15
    records: list = []
    while time.monotonic() < deadline:
        records = list_escalations(conversation_id="review-ref", db_url=db_url)
        if records and records[0].count == 2:
            break
        time.sleep(0.2)
    [record] = records  # two messages, one merged record
    assert record.count == 2

    review = build_review(db_url)
    mine = [e for e in review.escalations if e["conversation"] == "review-ref"]
    assert len(mine) == 2
    assert {e["ref"] for e in mine} == {record.ref}
    assert {e["record"] for e in mine} == {record.id}
    assert all(e["notification"] == record.notification_status for e in mine)
