"""The escalations table: records, notification outcomes, staff listings.

Every test runs on a fresh SQLite file and, when the local PostgreSQL answers,
on PostgreSQL too (in a schema of its own, dropped afterwards).
"""

from __future__ import annotations

import sqlite3
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Iterator

import pytest
import sqlalchemy as sa

from clinic_assistant.escalations import store
from clinic_assistant.settings import get_settings

PG_SERVER = "postgresql://postgres@127.0.0.1:5432/test"
MESSAGE = "my husband can barely swallow since this morning"


def _postgres_reachable() -> bool:
    engine = sa.create_engine(PG_SERVER, connect_args={"connect_timeout": 2})
    try:
        with engine.connect():
            return True
    except sa.exc.OperationalError:
        return False
    finally:
        engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database of the test's own, with no escalations table yet."""
    if request.param == "sqlite":
        # A folder that does not exist yet: the store must create it.
        yield f"sqlite:///{tmp_path / 'state' / 'nested' / 'assistant.db'}"
        store.dispose_engines()
        return
    if not _postgres_reachable():
        pytest.skip(f"PostgreSQL at {PG_SERVER} is unreachable")
    schema = f"escalations_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(PG_SERVER, future=True)
    with admin.begin() as connection:
        connection.execute(sa.schema.CreateSchema(schema))
    try:
        yield f"{PG_SERVER}?options=-csearch_path%3D{schema}"
    finally:
        store.dispose_engines()
        with admin.begin() as connection:
            connection.execute(sa.schema.DropSchema(schema, cascade=True))
        admin.dispose()


def _record(db_url: str, **overrides: object) -> int:
    values: dict = {
        "conversation_id": "patient-1",
        "channel": "rest",
        "level": "emergency",
        "symptoms": ["trouble_swallowing"],
        "message": MESSAGE,
        "db_url": db_url,
    }
    values.update(overrides)
    return store.record_escalation(**values)


def test_record_creates_the_table_and_round_trips(db_url: str) -> None:
    before = datetime.now(timezone.utc)
    escalation_id = _record(
        db_url, symptoms=["trouble_breathing", "trouble_swallowing"], channel="twilio"
    )

    record = store.get_escalation(escalation_id, db_url=db_url)
    assert record is not None
    assert record.id == escalation_id
    assert record.conversation_id == "patient-1"
    assert record.channel == "twilio"
    assert record.level == "emergency"
    assert record.symptoms == ["trouble_breathing", "trouble_swallowing"]
    assert record.message == MESSAGE
    assert record.notification_status == "pending"
    assert record.notification_attempts == 0
    assert record.notification_error is None
    assert record.acknowledged_at is None
    assert record.created_at.tzinfo is not None
    assert before - timedelta(seconds=1) <= record.created_at <= datetime.now(timezone.utc)
    # Reprs end up in logs; the patient's words must not.
    assert MESSAGE not in repr(record)


def test_sqlite_folder_is_created(tmp_path: Path) -> None:
    database = tmp_path / "a" / "b" / "assistant.db"
    try:
        _record(f"sqlite:///{database}")
        assert database.exists()
    finally:
        store.dispose_engines()


def test_an_existing_table_is_kept(db_url: str) -> None:
    first = _record(db_url)
    store.dispose_engines()  # as a restarted process would
    second = _record(db_url)
    assert second > first
    assert [r.id for r in store.list_escalations(db_url=db_url)] == [second, first]


def test_long_and_unusual_values_are_recorded(db_url: str) -> None:
    sender = "x" * 2000
    escalation_id = _record(
        db_url, conversation_id=sender, channel=None, symptoms=[], message="'; DROP TABLE x; --"
    )
    record = store.get_escalation(escalation_id, db_url=db_url)
    assert record is not None
    assert record.conversation_id == sender
    assert record.channel is None
    assert record.symptoms == []
    assert record.message == "'; DROP TABLE x; --"


@pytest.mark.parametrize("field, value", [("level", "mild"), ("notification_status", "delivered")])
def test_bad_level_or_status_is_refused(db_url: str, field: str, value: str) -> None:
    with pytest.raises(ValueError, match=field.split("_")[-1]):
        _record(db_url, **{field: value})


def test_update_notification_writes_the_outcome(db_url: str) -> None:
    escalation_id = _record(db_url)
    assert store.update_notification(escalation_id, "failed", 3, "HTTP 500", db_url=db_url)
    record = store.get_escalation(escalation_id, db_url=db_url)
    assert record is not None
    assert (record.notification_status, record.notification_attempts) == ("failed", 3)
    assert record.notification_error == "HTTP 500"

    assert store.update_notification(escalation_id, "sent", 4, None, db_url=db_url)
    record = store.get_escalation(escalation_id, db_url=db_url)
    assert record is not None
    assert (record.notification_status, record.notification_error) == ("sent", None)


def test_update_notification_clips_long_errors_and_reports_missing_ids(db_url: str) -> None:
    escalation_id = _record(db_url)
    store.update_notification(escalation_id, "failed", 1, "e" * 5000, db_url=db_url)
    record = store.get_escalation(escalation_id, db_url=db_url)
    assert record is not None and record.notification_error is not None
    assert len(record.notification_error) == store.MAX_ERROR_CHARS
    assert not store.update_notification(escalation_id + 1000, "sent", 1, db_url=db_url)
    with pytest.raises(ValueError):
        store.update_notification(escalation_id, "done", 1, db_url=db_url)


def test_list_is_newest_first_and_filters(db_url: str) -> None:
    now = datetime.now(timezone.utc)
    old = _record(db_url, created_at=now - timedelta(hours=2), level="urgent")
    new = _record(db_url, created_at=now, level="emergency", conversation_id="patient-2")
    middle = _record(db_url, created_at=now - timedelta(hours=1), level="urgent")

    assert [r.id for r in store.list_escalations(db_url=db_url)] == [new, middle, old]
    assert [r.id for r in store.list_escalations(limit=2, db_url=db_url)] == [new, middle]
    assert [r.id for r in store.list_escalations(level="urgent", db_url=db_url)] == [middle, old]
    assert [r.id for r in store.list_escalations(conversation_id="patient-2", db_url=db_url)] == [
        new
    ]
    since = now - timedelta(minutes=90)
    assert [r.id for r in store.list_escalations(since=since, db_url=db_url)] == [new, middle]

    assert store.acknowledge_escalation(new, db_url=db_url)
    assert not store.acknowledge_escalation(new, db_url=db_url)  # the first one counts
    unacknowledged = store.list_escalations(unacknowledged_only=True, db_url=db_url)
    assert [r.id for r in unacknowledged] == [middle, old]
    acknowledged = store.get_escalation(new, db_url=db_url)
    assert acknowledged is not None and acknowledged.acknowledged_at is not None


def test_same_instant_is_ordered_by_id(db_url: str) -> None:
    instant = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)
    ids = [_record(db_url, created_at=instant) for _ in range(3)]
    assert [r.id for r in store.list_escalations(db_url=db_url)] == ids[::-1]


def test_default_database_comes_from_the_settings(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    database = tmp_path / "from-settings.db"
    monkeypatch.setenv("ASSISTANT_DB_URL", f"sqlite:///{database}")
    get_settings.cache_clear()
    try:
        escalation_id = store.record_escalation(
            conversation_id="p", channel="rest", level="urgent", symptoms=[], message="m"
        )
        assert database.exists()
        assert store.list_escalations()[0].id == escalation_id
    finally:
        get_settings.cache_clear()
        store.dispose_engines()


def test_database_errors_do_not_reveal_the_message(tmp_path: Path) -> None:
    # A table of the same name that the insert cannot satisfy: the error that
    # follows names the statement, and must not carry the bound values.
    database = tmp_path / "broken.db"
    with sqlite3.connect(database) as connection:
        connection.execute(
            "CREATE TABLE escalations (id INTEGER PRIMARY KEY, created_at TEXT, "
            "conversation_id TEXT, channel TEXT, level TEXT, symptoms TEXT, message TEXT, "
            "notification_status TEXT, notification_attempts INTEGER, "
            "notification_error TEXT, acknowledged_at TEXT, required TEXT NOT NULL)"
        )
    try:
        with pytest.raises(sa.exc.IntegrityError) as raised:
            _record(f"sqlite:///{database}")
        assert MESSAGE not in str(raised.value)
    finally:
        store.dispose_engines()
