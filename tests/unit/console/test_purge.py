"""Retention: old conversations go, recent ones, escalation records and the audit log stay."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
import sqlalchemy as sa

from clinic_assistant.console import audit, purge, summary, tables
from clinic_assistant.escalations import store
from clinic_assistant.escalations.model import Escalation, new_ref
from evaluation import tracker_events as ev

NOW = 1_790_000_000.0
DAY = 86400.0


def _count(db_url: str, table: sa.sql.TableClause, **where: str) -> int:
    statement = sa.select(sa.func.count()).select_from(table)
    for name, value in where.items():
        statement = statement.where(table.c[name] == value)
    with tables.get_engine(db_url).connect() as connection:
        return int(connection.execute(statement).scalar() or 0)


def test_purge_deletes_old_conversations_and_nothing_else(any_db_url: str) -> None:
    engine = tables.get_engine(any_db_url)
    old, recent, straddling = NOW - 40 * DAY, NOW - 2 * DAY, NOW - 31 * DAY
    ev.insert(
        engine,
        [
            ev.user("old", old, "my old question", "faq", answer="faq/onset"),
            ev.bot("old", old + 1, "answer"),
            ev.user("recent", recent, "a new question", "faq", answer="faq/onset"),
            # Started before the cutoff but still going: kept whole.
            ev.user("going", straddling, "first", "faq", answer="faq/onset"),
            ev.user("going", recent, "later", "faq", answer="faq/onset"),
        ],
    )
    summary.refresh(any_db_url)
    with engine.begin() as connection:
        connection.execute(
            tables.tags.insert().values(
                conversation_id="old", tag="x", added_by="ana", added_at=datetime.now(timezone.utc)
            )
        )
    when = datetime.fromtimestamp(old, timezone.utc)
    sighting = Escalation(
        ref=new_ref(),
        conversation_id="old",
        channel="rest",
        level="urgent",
        symptoms=("double_vision",),
        message="I see double",
        created_at=when,
        last_seen_at=when,
    )
    record_id = store.record(sighting, db_url=any_db_url).escalation.id
    assert record_id is not None
    audit.record("ana", "view_transcript", target="conversation:old", db_url=any_db_url)

    result = purge.purge(30, now=NOW, db_url=any_db_url)

    assert (result.conversations, result.events) == (1, 2)
    assert _count(any_db_url, tables.events, sender_id="old") == 0
    assert _count(any_db_url, tables.events, sender_id="recent") == 1
    assert _count(any_db_url, tables.events, sender_id="going") == 2
    assert _count(any_db_url, tables.conversations, sender_id="old") == 0
    assert _count(any_db_url, tables.messages, sender_id="old") == 0
    assert _count(any_db_url, tables.tags, conversation_id="old") == 0
    assert _count(any_db_url, tables.conversations) == 2
    assert store.get_escalation(record_id, db_url=any_db_url) is not None
    actions = [e.action for e in audit.entries(db_url=any_db_url)]
    assert actions == ["purge", "view_transcript"]
    assert "1 conversations" in (audit.entries(action="purge", db_url=any_db_url)[0].detail or "")
    # Safe to run again (cron): nothing left to delete.
    assert purge.purge(30, now=NOW, db_url=any_db_url).conversations == 0


def test_retention_off_purges_nothing(db_url: str) -> None:
    ev.insert(tables.get_engine(db_url), [ev.user("old", 0.0, "ancient", "faq")])
    with pytest.raises(ValueError):
        purge.purge(0, db_url=db_url)
    assert _count(db_url, tables.events) == 1
