"""The escalations table: merged records, limits, staff actions, notification outcomes.

Every test runs on a fresh SQLite file and, when the local PostgreSQL answers,
on PostgreSQL too (in a schema of its own, dropped afterwards).
"""

from __future__ import annotations

import sqlite3
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Iterator

import pytest
import sqlalchemy as sa

from clinic_assistant.escalations import store
from clinic_assistant.escalations.model import Escalation, is_ref, new_ref
from clinic_assistant.settings import get_settings

PG_SERVER = "postgresql://postgres@127.0.0.1:5432/test"
MESSAGE = "my husband can barely swallow since this morning"
NOW = datetime(2026, 5, 1, 12, 0, tzinfo=timezone.utc)


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


def sighting(**overrides: Any) -> Escalation:
    """One message's escalation, as the service hands it to the store."""
    at = overrides.pop("at", NOW)
    values: dict = {
        "ref": new_ref(),
        "conversation_id": "patient-1",
        "channel": "rest",
        "level": "emergency",
        "symptoms": ("difficulty_swallowing",),
        "message": MESSAGE,
        "created_at": at,
        "last_seen_at": at,
    }
    values.update(overrides)
    return Escalation(**values)


def _record(db_url: str, **overrides: Any) -> store.Recorded:
    limit = overrides.pop("limit", 3)
    return store.record(sighting(**overrides), max_new_per_day=limit, db_url=db_url)


def test_a_new_record_round_trips(db_url: str) -> None:
    asked = sighting(symptoms=("difficulty_breathing", "difficulty_swallowing"), channel="twilio")
    recorded = store.record(asked, db_url=db_url)

    assert recorded.new and recorded.worth_a_notice
    record = store.get_escalation(recorded.escalation.id or -1, db_url=db_url)
    assert record is not None
    assert record == recorded.escalation
    assert record.ref == asked.ref and is_ref(record.ref)
    assert (record.conversation_id, record.channel, record.level) == (
        "patient-1",
        "twilio",
        "emergency",
    )
    assert record.symptoms == ("difficulty_breathing", "difficulty_swallowing")
    assert record.message == MESSAGE and record.last_message is None
    assert (record.count, record.created_at, record.last_seen_at) == (1, NOW, NOW)
    assert (record.notification_status, record.notification_attempts) == ("pending", 0)
    assert record.open and record.acknowledged_at is None
    # Reprs end up in logs; the patient's words must not.
    assert MESSAGE not in repr(record)


def test_repeats_in_a_conversation_merge_into_one_record(db_url: str) -> None:
    first = _record(db_url, level="urgent", symptoms=("vision_changes",))
    later = NOW + timedelta(minutes=5)
    same = _record(
        db_url,
        ref=first.escalation.ref,
        level="urgent",
        symptoms=("vision_changes",),
        message="still blurry",
        at=later,
    )
    worse = _record(
        db_url,
        ref=first.escalation.ref,
        symptoms=("choking",),
        message="now I am choking",
        at=later + timedelta(minutes=1),
    )

    assert not same.new and not same.worth_a_notice  # nothing new for staff
    assert not worse.new and worse.worth_a_notice  # higher level, new symptom
    rows = store.list_escalations(db_url=db_url)
    assert len(rows) == 1
    record = rows[0]
    assert record.id == first.escalation.id and record.ref == first.escalation.ref
    assert record.count == 3
    assert record.last_seen_at == later + timedelta(minutes=1)
    assert record.created_at == NOW
    assert record.level == "emergency"  # the highest wins
    assert record.symptoms == ("vision_changes", "choking")
    assert (record.message, record.last_message) == (MESSAGE, "now I am choking")


def test_a_new_session_merges_and_its_reference_finds_the_record(db_url: str) -> None:
    first = _record(db_url)
    other_ref = new_ref()  # the slot was reset (a restart): the action made a new one
    again = _record(db_url, ref=other_ref, at=NOW + timedelta(minutes=1))

    assert again.escalation.id == first.escalation.id and again.escalation.count == 2
    found = store.find_by_refs([first.escalation.ref, other_ref, new_ref()], db_url=db_url)
    assert set(found) == {first.escalation.ref, other_ref}
    assert {record.id for record in found.values()} == {first.escalation.id}


def test_another_conversations_reference_never_merges_across(db_url: str) -> None:
    theirs = _record(db_url, conversation_id="patient-A")
    mine = _record(db_url, conversation_id="patient-B", ref=theirs.escalation.ref)

    assert mine.new and mine.escalation.id != theirs.escalation.id
    assert mine.escalation.ref != theirs.escalation.ref
    assert store.get_escalation(theirs.escalation.id or -1, db_url=db_url).count == 1  # type: ignore[union-attr]


def test_the_per_conversation_limit_on_new_records(db_url: str) -> None:
    ids = []
    for minute in range(5):
        recorded = _record(db_url, limit=2, at=NOW + timedelta(minutes=minute))
        assert recorded.escalation.id is not None
        ids.append(recorded.escalation.id)
        # Staff close each one, so the next message would start a new record.
        store.resolve(recorded.escalation.id, "nurse", "called back", db_url=db_url)

    rows = store.list_escalations(db_url=db_url)
    assert len(rows) == 2, "at most two new records per conversation and day"
    latest = rows[0]
    assert latest.count == 4  # the second and the three over the limit
    # Merged into a resolved record: reopened, a new danger sign is never hidden...
    assert ids[2:] == [latest.id] * 3
    # ... but the last one here was resolved again by the loop.
    assert latest.resolved_by == "nurse"
    # Other conversations are not limited by this one.
    assert _record(db_url, conversation_id="patient-2", limit=2).new
    # A day later the conversation may start new records again.
    assert _record(db_url, limit=2, at=NOW + timedelta(days=1, minutes=5)).new


def test_a_repeat_after_resolution_reopens_with_a_notice(db_url: str) -> None:
    first = _record(db_url, limit=1)
    assert first.escalation.id is not None
    store.resolve(first.escalation.id, "dr. sader", "patient is fine", db_url=db_url)
    again = _record(db_url, limit=1, at=NOW + timedelta(hours=1))

    assert not again.new and again.worth_a_notice
    assert again.escalation.open and again.escalation.acknowledged_at is None
    assert again.escalation.count == 2


def test_acknowledge_and_resolve_keep_who_when_and_the_note(db_url: str) -> None:
    record = _record(db_url).escalation
    assert record.id is not None
    seen = store.acknowledge(
        record.id, "  Nurse   Kim ", at=NOW + timedelta(minutes=2), db_url=db_url
    )
    assert seen is not None
    assert (seen.acknowledged_by, seen.acknowledged_at) == ("Nurse Kim", NOW + timedelta(minutes=2))
    again = store.acknowledge(record.id, "someone else", db_url=db_url)
    assert again is not None and again.acknowledged_by == "Nurse Kim"  # the first one counts

    done = store.resolve(
        record.id,
        "Dr. Sader",
        "Called the patient; ER visit, fine now.",
        at=NOW + timedelta(minutes=30),
        db_url=db_url,
    )
    assert done is not None and not done.open
    assert (done.resolved_by, done.resolved_at) == ("Dr. Sader", NOW + timedelta(minutes=30))
    assert done.resolution_note == "Called the patient; ER visit, fine now."
    assert done.acknowledged_by == "Nurse Kim"
    assert store.list_escalations(open_only=True, db_url=db_url) == []

    with pytest.raises(ValueError, match="name"):
        store.acknowledge(record.id, "   ", db_url=db_url)
    with pytest.raises(ValueError, match="note"):
        store.resolve(record.id, "Dr. Sader", " ", db_url=db_url)
    assert store.acknowledge(record.id + 1000, "x", db_url=db_url) is None
    assert store.resolve(record.id + 1000, "x", "y", db_url=db_url) is None


def test_the_first_resolution_stands(db_url: str) -> None:
    record = _record(db_url).escalation
    assert record.id is not None
    store.resolve(record.id, "Nurse Kim", "Called; fine now", at=NOW, db_url=db_url)
    later = store.resolve(
        record.id, "Dr. Sader", "another note", at=NOW + timedelta(minutes=5), db_url=db_url
    )
    assert later is not None
    assert (later.resolved_by, later.resolved_at, later.resolution_note) == (
        "Nurse Kim",
        NOW,
        "Called; fine now",
    )


def test_resolving_unacknowledged_acknowledges_it_too(db_url: str) -> None:
    record = _record(db_url).escalation
    assert record.id is not None
    done = store.resolve(record.id, "Dr. Sader", "wrong number", at=NOW, db_url=db_url)
    assert done is not None and (done.acknowledged_by, done.acknowledged_at) == ("Dr. Sader", NOW)


def test_stale_pending_notices_are_found(db_url: str) -> None:
    old = _record(db_url, conversation_id="a", at=NOW - timedelta(hours=1)).escalation
    _record(db_url, conversation_id="b", at=NOW - timedelta(minutes=1))
    sent = _record(db_url, conversation_id="c", at=NOW - timedelta(hours=2)).escalation
    assert sent.id is not None
    store.update_notification(sent.id, "sent", 1, db_url=db_url)
    quiet = _record(
        db_url,
        conversation_id="d",
        at=NOW - timedelta(hours=2),
        notification_status="not_configured",
    ).escalation

    stale = store.stale_pending(timedelta(minutes=10), now=NOW, db_url=db_url)
    assert [record.id for record in stale] == [old.id]
    assert quiet.id not in [record.id for record in stale]


def test_an_existing_table_is_kept(db_url: str) -> None:
    first = _record(db_url, conversation_id="a").escalation
    store.dispose_engines()  # as a restarted process would
    second = _record(db_url, conversation_id="b", at=NOW + timedelta(seconds=1)).escalation
    assert [r.id for r in store.list_escalations(db_url=db_url)] == [second.id, first.id]


def test_long_and_unusual_values_are_recorded(db_url: str) -> None:
    sender = "x" * 2000
    record = _record(
        db_url,
        conversation_id=sender,
        channel=None,
        symptoms=(),
        message="'; DROP TABLE x; --" + "y" * 10_000,
    ).escalation
    assert record.conversation_id == sender
    assert record.channel is None and record.symptoms == ()
    assert record.message.startswith("'; DROP TABLE x; --")
    assert len(record.message) == store.MAX_MESSAGE_CHARS


@pytest.mark.parametrize("field, value", [("level", "mild"), ("notification_status", "delivered")])
def test_bad_level_or_status_is_refused(db_url: str, field: str, value: str) -> None:
    with pytest.raises(ValueError, match=field.split("_")[-1]):
        _record(db_url, **{field: value})


def test_update_notification_writes_clips_and_reports_missing_ids(db_url: str) -> None:
    record = _record(db_url).escalation
    assert record.id is not None
    assert store.update_notification(record.id, "failed", 3, "e" * 5000, db_url=db_url)
    stored = store.get_escalation(record.id, db_url=db_url)
    assert stored is not None and stored.notification_status == "failed"
    assert stored.notification_attempts == 3
    assert len(stored.notification_error or "") == store.MAX_ERROR_CHARS
    assert not store.update_notification(record.id + 1000, "sent", 1, db_url=db_url)
    with pytest.raises(ValueError):
        store.update_notification(record.id, "done", 1, db_url=db_url)


def test_list_is_latest_first_and_filters(db_url: str) -> None:
    old = _record(
        db_url, conversation_id="a", level="urgent", symptoms=(), at=NOW - timedelta(hours=2)
    ).escalation
    new = _record(db_url, conversation_id="b", at=NOW).escalation
    middle = _record(
        db_url, conversation_id="c", level="urgent", symptoms=(), at=NOW - timedelta(hours=1)
    ).escalation
    ids = lambda **kw: [r.id for r in store.list_escalations(db_url=db_url, **kw)]  # noqa: E731

    assert ids() == [new.id, middle.id, old.id]
    assert ids(limit=2) == [new.id, middle.id]
    assert ids(level="urgent") == [middle.id, old.id]
    assert ids(conversation_id="b") == [new.id]
    assert ids(since=NOW - timedelta(minutes=90)) == [new.id, middle.id]
    assert new.id is not None
    store.acknowledge(new.id, "nurse", db_url=db_url)
    assert ids(unacknowledged_only=True) == [middle.id, old.id]
    # A repeat moves a record to the top.
    _record(
        db_url,
        conversation_id="a",
        ref=old.ref,
        level="urgent",
        symptoms=(),
        at=NOW + timedelta(minutes=1),
    )
    assert ids() == [old.id, new.id, middle.id]


def test_default_database_comes_from_the_settings(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    database = tmp_path / "from-settings.db"
    monkeypatch.setenv("ASSISTANT_DB_URL", f"sqlite:///{database}")
    get_settings.cache_clear()
    try:
        recorded = store.record(sighting())
        assert database.exists()
        assert store.list_escalations()[0].id == recorded.escalation.id
    finally:
        get_settings.cache_clear()
        store.dispose_engines()


FIRST_SCHEMA = (
    "CREATE TABLE escalations (id INTEGER PRIMARY KEY, created_at DATETIME NOT NULL, "
    "conversation_id TEXT NOT NULL, channel TEXT, level VARCHAR(16) NOT NULL, "
    "symptoms TEXT NOT NULL, message TEXT NOT NULL, notification_status VARCHAR(16) NOT NULL, "
    "notification_attempts INTEGER NOT NULL, notification_error TEXT, acknowledged_at DATETIME)"
)


def test_a_table_of_the_first_schema_is_upgraded_in_place(tmp_path: Path) -> None:
    database = tmp_path / "old.db"
    with sqlite3.connect(database) as connection:
        connection.execute(FIRST_SCHEMA)
        connection.execute(
            "INSERT INTO escalations VALUES (7, '2026-04-01 10:00:00', 'patient-old', 'rest', "
            "'urgent', '[\"vision_changes\"]', 'blurry since yesterday', 'sent', 1, NULL, NULL)"
        )
        connection.execute(
            "INSERT INTO escalations VALUES (3, '2026-04-01 09:00:00', 'patient-old', 'rest', "
            "'urgent', '[]', 'eyes odd', 'sent', 1, NULL, NULL)"
        )
    url = f"sqlite:///{database}"
    try:
        old = store.get_escalation(7, db_url=url)
        assert old is not None
        assert (old.ref, old.count, old.message) == ("esc_old_7", 1, "blurry since yesterday")
        assert old.last_seen_at == old.created_at
        # The older row of that conversation was closed as superseded; the newest
        # stays open, and a new message in its conversation merges into it.
        merged = store.record(sighting(conversation_id="patient-old"), db_url=url)
        assert merged.escalation.id == 7 and merged.escalation.count == 2
        assert merged.escalation.level == "emergency"
        older = store.get_escalation(3, db_url=url)
        assert older is not None and not older.open
        assert older.resolution_note == "superseded by record #7"
    finally:
        store.dispose_engines()


def test_database_errors_do_not_reveal_the_message(tmp_path: Path) -> None:
    # A table of the same name that the insert cannot satisfy: the error that
    # follows names the statement, and must not carry the bound values.
    database = tmp_path / "broken.db"
    with sqlite3.connect(database) as connection:
        connection.execute(FIRST_SCHEMA[:-1] + ", required TEXT NOT NULL)")
    try:
        with pytest.raises(sa.exc.IntegrityError) as raised:
            store.record(sighting(), db_url=f"sqlite:///{database}")
        assert MESSAGE not in str(raised.value)
    finally:
        store.dispose_engines()


def test_two_writers_of_one_conversation_still_make_one_open_record(db_url: str) -> None:
    # As two action servers would: each saw no open row, the second insert hits
    # the one-open-row index and is merged instead.
    first = _record(db_url)
    engine = store.get_engine(db_url)
    with engine.begin() as connection:
        with pytest.raises(sa.exc.IntegrityError):
            connection.execute(
                store.escalations.insert().values(
                    ref=new_ref(),
                    created_at=NOW,
                    conversation_id="patient-1",
                    level="urgent",
                    symptoms="[]",
                    message="x",
                    notification_status="pending",
                    notification_attempts=0,
                )
            )
    assert [r.id for r in store.list_escalations(db_url=db_url)] == [first.escalation.id]
