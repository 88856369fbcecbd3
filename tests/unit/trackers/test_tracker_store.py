"""The incremental SQL tracker store: what Rasa's store returns, from fewer reads."""

from __future__ import annotations

from pathlib import Path
from typing import Any, List

import pytest
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    BotUttered,
    Event,
    SessionStarted,
    SlotSet,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker

from clinic_assistant.trackers import store as store_module
from clinic_assistant.trackers.store import CachingSQLTrackerStore

DOMAIN = Domain.from_dict(
    {
        "intents": ["faq"],
        "slots": {
            "escalation_ref": {"type": "text", "influence_conversation": False, "mappings": []}
        },
        "responses": {"utter_faq": [{"text": "an answer"}]},
    }
)


def turn(n: int) -> List[Event]:
    return [
        UserUttered(f"question {n}", {"name": "faq", "confidence": 1.0}),
        ActionExecuted("utter_faq"),
        BotUttered(f"answer {n}"),
        ActionExecuted("action_listen"),
    ]


def dicts(tracker: Any) -> List[dict]:
    return [event.as_dict() for event in tracker.events]


async def texts(store: Any, sender: str) -> List[str]:
    """The patient's messages in the tracker ``store`` gives for ``sender``."""
    tracker = await store.retrieve(sender)
    assert tracker is not None
    return [str(e.text) for e in tracker.events if isinstance(e, UserUttered)]


@pytest.fixture
def db(tmp_path: Path) -> str:
    return str(tmp_path / "trackers.db")


def stores(db: str) -> tuple[CachingSQLTrackerStore, SQLTrackerStore]:
    return (
        CachingSQLTrackerStore(DOMAIN, dialect="sqlite", db=db),
        SQLTrackerStore(DOMAIN, dialect="sqlite", db=db),
    )


async def play(store: Any, sender: str, events: List[Event]) -> None:
    tracker = await store.retrieve(sender) or DialogueStateTracker(sender, DOMAIN.slots)
    for event in events:
        tracker.update(event)
    await store.save(tracker)


async def test_it_returns_what_rasa_returns_turn_after_turn_and_across_sessions(db: str) -> None:
    caching, rasa = stores(db)
    assert await caching.retrieve("p") is None
    start = [
        ActionExecuted("action_session_start"),
        SessionStarted(),
        ActionExecuted("action_listen"),
    ]
    await play(caching, "p", start)
    for n in range(6):
        await play(caching, "p", turn(n) + ([SlotSet("escalation_ref", "E-1")] if n == 2 else []))
        mine, theirs = await caching.retrieve("p"), await rasa.retrieve("p")
        assert mine is not None and theirs is not None
        assert dicts(mine) == dicts(theirs)
        assert mine.current_slot_values() == theirs.current_slot_values()
    # A new session: only its events, as Rasa reads them.
    await play(caching, "p", [ActionExecuted("action_session_start"), SessionStarted()])
    await play(caching, "p", turn(99))
    assert dicts(await caching.retrieve("p")) == dicts(await rasa.retrieve("p"))
    assert await texts(caching, "p") == ["question 99"]


async def test_only_new_rows_are_decoded(db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    caching, _ = stores(db)
    await play(caching, "p", [ActionExecuted("action_listen"), *turn(0), *turn(1)])
    await caching.retrieve("p")
    decoded: List[dict] = []
    original = store_module.deserialise_events

    def spy(events: List[dict]) -> List[Event]:
        decoded.extend(events)
        return original(events)

    monkeypatch.setattr(store_module, "deserialise_events", spy)
    await play(caching, "p", turn(2))  # its retrieve decodes nothing new
    assert decoded == []
    await caching.retrieve("p")  # its own save kept turn 2: nothing to decode
    assert decoded == []
    _, rasa = stores(db)
    await play(rasa, "p", turn(3))  # another writer's four rows
    await caching.retrieve("p")
    assert len(decoded) == 4


async def test_saving_the_kept_session_writes_each_event_once_without_rasas_count(
    db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    caching, rasa = stores(db)
    await play(caching, "p", [ActionExecuted("action_listen"), *turn(0)])
    counted: List[str] = []
    original = SQLTrackerStore._additional_events

    def spy(self: Any, session: Any, tracker: Any) -> Any:
        counted.append(tracker.sender_id)
        return original(self, session, tracker)

    monkeypatch.setattr(SQLTrackerStore, "_additional_events", spy)
    for n in range(1, 4):
        await play(caching, "p", turn(n))
    assert counted == []
    assert await texts(rasa, "p") == [f"question {n}" for n in range(4)]
    assert dicts(await caching.retrieve("p")) == dicts(await rasa.retrieve("p"))
    # A tracker not built from the kept session is saved by Rasa's own code.
    other = DialogueStateTracker.from_dict(
        "p", [e.as_dict() for e in (await rasa.retrieve("p")).events], DOMAIN.slots
    )
    other.update(UserUttered("question 4", {"name": "faq", "confidence": 1.0}))
    await caching.save(other)
    assert counted == ["p"]
    assert await texts(rasa, "p") == [f"question {n}" for n in range(5)]


def test_a_sqlite_database_is_in_wal_mode(db: str) -> None:
    caching, _ = stores(db)
    with caching.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"


async def test_rows_written_by_another_replica_are_read(db: str) -> None:
    first, rasa = stores(db)
    second = CachingSQLTrackerStore(DOMAIN, dialect="sqlite", db=db)
    await play(first, "p", [ActionExecuted("action_listen"), *turn(0)])
    await play(second, "p", turn(1))
    await play(first, "p", turn(2))
    assert dicts(await first.retrieve("p")) == dicts(await rasa.retrieve("p"))
    assert await texts(second, "p") == ["question 0", "question 1", "question 2"]


async def test_deleted_rows_are_not_brought_back(db: str) -> None:
    caching, _ = stores(db)
    await play(caching, "p", [ActionExecuted("action_listen"), *turn(0)])
    assert await caching.retrieve("p") is not None
    with caching.session_scope() as session:  # what the console's purge does
        session.query(caching.SQLEvent).filter(caching.SQLEvent.sender_id == "p").delete()
        session.commit()
    assert await caching.retrieve("p") is None
    await play(caching, "p", turn(1))
    assert await texts(caching, "p") == ["question 1"]


async def test_the_cache_is_bounded(db: str) -> None:
    caching = CachingSQLTrackerStore(DOMAIN, dialect="sqlite", db=db, cache_size=2)
    for sender in ("a", "b", "c"):
        await play(caching, sender, turn(0))
        await caching.retrieve(sender)
    assert list(caching._sessions) == ["b", "c"]
    assert await caching.retrieve("a") is not None  # read whole again
    assert list(caching._sessions) == ["c", "a"]
