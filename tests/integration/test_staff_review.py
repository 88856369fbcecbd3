"""`make review`, the thin wrapper over the staff console, reads the records the real
servers wrote; and an escalation is joined to its conversation by reference."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest
import sqlalchemy as sa

from clinic_assistant.console import audit
from clinic_assistant.contract import ESCALATION_REF_SLOT
from clinic_assistant.escalations.store import get_engine, list_escalations
from clinic_assistant.settings import PROJECT_ROOT
from tests.integration.conftest import Stack

pytestmark = pytest.mark.integration


def _wait_for_records(db_url: str, conversation_id: str, count: int = 1) -> list:
    """The conversation's escalation records, once the action server has written them."""
    deadline = time.monotonic() + 15
    records: list = []
    while time.monotonic() < deadline:
        records = list_escalations(conversation_id=conversation_id, db_url=db_url)
        if records and records[0].count >= count:
            break
        time.sleep(0.2)
    return records


def test_make_review_prints_the_consoles_open_escalations_and_is_audited(stack: Stack) -> None:
    stack.say("review-2", "since the shots I see double")
    stack.say("review-3", "my wife cannot breathe properly")
    db_url = f"sqlite:///{stack.db_path}"
    assert _wait_for_records(db_url, "review-2") and _wait_for_records(db_url, "review-3")
    run = subprocess.run(
        [sys.executable, "-m", "clinic_assistant.staff_review", "--json"],
        cwd=PROJECT_ROOT,
        env={**os.environ, "ASSISTANT_DB_URL": db_url},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    shown = json.loads(run.stdout)
    mine = {e["conversation"]: e for e in shown["escalations"]}
    assert mine["review-3"]["level"] == "emergency" and mine["review-2"]["level"] == "urgent"
    # Neither the patients' words nor anything but the records' own fields.
    assert "cannot breathe" not in run.stdout and "see double" not in run.stdout
    assert shown["console_url"].startswith("http://localhost:")
    [entry] = audit.entries(action="review_cli", db_url=db_url)
    assert entry.username.startswith("(shell: ")


def test_escalations_join_their_record_by_the_reference_in_the_conversation(
    stack: Stack,
) -> None:
    stack.say("review-ref", "I can't swallow since my botox shots")
    stack.say("review-ref", "I still can't swallow anything")
    db_url = f"sqlite:///{stack.db_path}"
    records = _wait_for_records(db_url, "review-ref", count=2)
    [record] = records  # two messages, one merged record
    assert record.count == 2
    # The conversation itself holds the record's reference (slot escalation_ref): the
    # console links the two by it, not by a time window.
    events = sa.table("events", sa.column("sender_id"), sa.column("type_name"), sa.column("data"))
    statement = sa.select(events.c.data).where(
        events.c.sender_id == "review-ref", events.c.type_name == "slot"
    )
    with get_engine(db_url).connect() as connection:
        slots = [json.loads(row.data) for row in connection.execute(statement)]
    refs = {s["value"] for s in slots if s.get("name") == ESCALATION_REF_SLOT and s.get("value")}
    assert refs == {record.ref}
