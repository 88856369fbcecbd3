"""The latest patient message's channel, read from a real SQLite tracker store."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from rasa.core.tracker_store import (
    AwaitableTrackerStore,
    FailSafeTrackerStore,
    InMemoryTrackerStore,
    SQLTrackerStore,
)
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, Event, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy.exc import OperationalError

from clinic_assistant.trackers.latest import innermost, latest_input_channel


def _save(store: Any, sender: str, *events: Event) -> None:
    asyncio.run(store.save(DialogueStateTracker.from_events(sender, list(events))))


@pytest.fixture()
def sql(tmp_path: Path) -> SQLTrackerStore:
    return SQLTrackerStore(Domain.empty(), dialect="sqlite", db=str(tmp_path / "t.db"))


def test_the_latest_user_event_decides(sql: SQLTrackerStore) -> None:
    _save(
        sql,
        "a",
        ActionExecuted("action_listen"),
        UserUttered("hi", input_channel="twilio"),
        BotUttered("hello"),
        UserUttered("and?", input_channel="rest"),
        BotUttered("yes"),
    )
    assert asyncio.run(latest_input_channel(sql, "a")) == (True, "rest")


def test_unknown_sender_and_no_patient_message(sql: SQLTrackerStore) -> None:
    assert asyncio.run(latest_input_channel(sql, "nobody")) == (False, None)
    _save(sql, "b", ActionExecuted("action_listen"))
    assert asyncio.run(latest_input_channel(sql, "b")) == (False, None)


def test_a_message_without_a_channel(sql: SQLTrackerStore) -> None:
    _save(sql, "c", UserUttered("hi"))
    assert asyncio.run(latest_input_channel(sql, "c")) == (True, None)


def test_through_rasas_wrappers(sql: SQLTrackerStore) -> None:
    wrapped = AwaitableTrackerStore(FailSafeTrackerStore(sql))
    assert innermost(wrapped) is sql
    _save(sql, "d", UserUttered("hi", input_channel="socketio"))
    assert asyncio.run(latest_input_channel(wrapped, "d")) == (True, "socketio")


def test_other_stores_are_read_the_ordinary_way() -> None:
    store = InMemoryTrackerStore(Domain.empty())
    _save(store, "e", UserUttered("hi", input_channel="twilio"), BotUttered("hello"))
    assert asyncio.run(latest_input_channel(store, "e")) == (True, "twilio")
    assert asyncio.run(latest_input_channel(store, "nobody")) == (False, None)


def test_a_store_error_is_raised(sql: SQLTrackerStore) -> None:
    with sql.session_scope() as session:
        session.execute(sql.SQLEvent.__table__.delete())  # type: ignore[attr-defined]
    sql.SQLEvent.__table__.drop(sql.engine)  # type: ignore[attr-defined]
    with pytest.raises(OperationalError):
        asyncio.run(latest_input_channel(sql, "a"))
