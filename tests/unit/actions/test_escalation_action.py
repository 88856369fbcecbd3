"""action_record_escalation: records the red flag, tells the patient nothing, never waits.

Trackers are built inline; the database is a tmp SQLite file; the clinic's
webhook is a real aiohttp server on 127.0.0.1 and an ephemeral port.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from pathlib import Path
from typing import Any, AsyncIterator, Callable, Dict, Iterator, List, Optional

import pytest
import pytest_asyncio
from rasa_sdk import Tracker
from rasa_sdk.executor import ActionExecutor, CollectingDispatcher

from actions import escalation
from actions.escalation import ActionRecordEscalation
from clinic_assistant.escalations import store
from clinic_assistant.red_flags.lexicon import load_lexicon
from clinic_assistant.settings import Settings, get_settings
from tests.unit.conftest import Webhook

LEXICON = load_lexicon()
TEXT = "my husband cant breathe and can barely swallow, it started after his botox"


@pytest_asyncio.fixture
async def configure(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> AsyncIterator[Callable[..., Settings]]:
    """Settings from the environment on top of a tmp database; drains background work."""
    monkeypatch.setenv("ASSISTANT_DB_URL", f"sqlite:///{tmp_path / 'state' / 'assistant.db'}")
    for key in (
        "ESCALATION_WEBHOOK_URL",
        "ESCALATION_EMAIL_TO",
        "ESCALATION_NOTIFY_TIMEOUT",
        "ESCALATION_NOTIFY_ATTEMPTS",
    ):
        monkeypatch.delenv(key, raising=False)

    def apply(**env: str) -> Settings:
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        get_settings.cache_clear()
        return get_settings()

    yield apply
    # Nothing may outlive the test's event loop.
    await asyncio.wait_for(_drain(), timeout=5)
    get_settings.cache_clear()
    store.dispose_engines()


async def _drain() -> None:
    """Wait for the action's background records and notices."""
    while pending := escalation.background_tasks():
        await asyncio.gather(*pending, return_exceptions=True)


@pytest.fixture(autouse=True)
def _no_leftover_tasks() -> Iterator[None]:
    """Each test starts with no background work from another."""
    assert not escalation.background_tasks()
    yield


@pytest.fixture
def dispatcher() -> CollectingDispatcher:
    """A fresh dispatcher per test."""
    return CollectingDispatcher()


@pytest.fixture
def action() -> ActionRecordEscalation:
    """The action under test."""
    return ActionRecordEscalation()


def tracker_for(
    intent: Optional[str],
    symptoms: List[str],
    text: str = TEXT,
    channel: Optional[str] = "rest",
    sender_id: str = "patient-42",
) -> Tracker:
    """A tracker whose latest message is ``text`` with the given NLU result.

    Only the lexicon's canonical names: a test must never pass by recording a
    symptom the detector cannot produce.
    """
    unknown = set(symptoms) - set(LEXICON.symptom_names)
    assert not unknown, f"not in the red-flag lexicon: {sorted(unknown)}"
    latest: Dict[str, Any] = {
        "intent": {"name": intent, "confidence": 1.0} if intent else {},
        "entities": [
            {"entity": "red_flag_symptom", "value": value, "extractor": "RedFlagClassifier"}
            for value in symptoms
        ],
        "text": text,
    }
    events: List[Dict[str, Any]] = [
        {"event": "action", "name": "action_listen"},
        {"event": "user", "text": text, "parse_data": latest, "input_channel": channel},
        {"event": "bot", "text": "Call 911 now."},
    ]
    return Tracker(sender_id, {}, latest, events, False, None, {}, "utter_escalation_emergency")


def _only_record() -> store.EscalationRecord:
    records = store.list_escalations()
    assert len(records) == 1
    return records[0]


@pytest.mark.parametrize(
    "intent, level, symptoms, expected_symptoms",
    [
        (
            "red_flag_emergency",
            "emergency",
            ["difficulty_breathing", "difficulty_swallowing", "difficulty_breathing"],
            ["difficulty_breathing", "difficulty_swallowing"],
        ),
        ("red_flag_urgent", "urgent", ["drooping_eyelids"], ["drooping_eyelids"]),
        # The action ran although the intent is not a red flag: when in doubt, escalate.
        ("faq/side_effects", "emergency", [], []),
        (None, "emergency", [], []),
    ],
)
async def test_records_the_escalation_and_sends_nothing(
    action: ActionRecordEscalation,
    dispatcher: CollectingDispatcher,
    configure: Callable[..., Settings],
    intent: Optional[str],
    level: str,
    symptoms: List[str],
    expected_symptoms: List[str],
) -> None:
    configure()

    events = await action.run(dispatcher, tracker_for(intent, symptoms), {})

    assert events == []
    assert dispatcher.messages == []
    record = _only_record()
    assert record.level == level
    assert record.symptoms == expected_symptoms
    assert record.message == TEXT
    assert record.conversation_id == "patient-42"
    assert record.channel == "rest"
    await _drain()
    assert _only_record().notification_status == "not_configured"


async def test_returns_before_a_slow_webhook_answers(
    action: ActionRecordEscalation,
    dispatcher: CollectingDispatcher,
    configure: Callable[..., Settings],
    webhook: Webhook,
) -> None:
    webhook.script = [(200, 0.6)]
    configure(
        ESCALATION_WEBHOOK_URL=webhook.url,
        ESCALATION_NOTIFY_TIMEOUT="3",
        ESCALATION_NOTIFY_ATTEMPTS="1",
    )

    started = time.perf_counter()
    events = await action.run(
        dispatcher,
        tracker_for("red_flag_emergency", ["difficulty_breathing"], channel="twilio"),
        {},
    )
    elapsed = time.perf_counter() - started

    assert events == [] and dispatcher.messages == []
    assert elapsed < 0.4, f"run took {elapsed:.2f} s: it waited for the webhook"
    record = _only_record()
    assert record.notification_status == "pending"
    assert escalation.background_tasks(), "the notice is still on its way"

    await _drain()

    record = _only_record()
    assert (record.notification_status, record.notification_attempts) == ("sent", 1)
    assert webhook.bodies == [
        {
            "type": "escalation",
            "escalation_id": record.id,
            "created_at": record.created_at.isoformat(),
            "level": "emergency",
            "symptoms": ["difficulty_breathing"],
            "channel": "twilio",
            "conversation_id": "patient-42",
        }
    ]


async def test_database_failure_still_notifies_and_never_logs_the_message(
    action: ActionRecordEscalation,
    dispatcher: CollectingDispatcher,
    configure: Callable[..., Settings],
    webhook: Webhook,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # A table the insert cannot satisfy: SQLAlchemy's error would show the bound
    # values (the patient's message) unless the store hides them.
    database = tmp_path / "broken.db"
    with sqlite3.connect(database) as connection:
        connection.execute(
            "CREATE TABLE escalations (id INTEGER PRIMARY KEY, "
            "message TEXT, required TEXT NOT NULL)"
        )
    configure(ASSISTANT_DB_URL=f"sqlite:///{database}", ESCALATION_WEBHOOK_URL=webhook.url)
    caplog.set_level(logging.DEBUG)

    events = await action.run(dispatcher, tracker_for("red_flag_urgent", ["drooping_eyelids"]), {})
    await _drain()

    assert events == [] and dispatcher.messages == []
    assert len(webhook.bodies) == 1
    assert webhook.bodies[0]["escalation_id"] is None
    assert webhook.bodies[0]["level"] == "urgent"
    assert "could not be recorded" in caplog.text
    assert "barely swallow" not in caplog.text
    for entry in caplog.records:
        assert "barely swallow" not in str(entry.args)


async def test_a_slow_database_does_not_hold_up_the_reply(
    action: ActionRecordEscalation,
    dispatcher: CollectingDispatcher,
    configure: Callable[..., Settings],
    webhook: Webhook,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    configure(ESCALATION_WEBHOOK_URL=webhook.url)
    record_escalation = store.record_escalation

    def slow_record(**values: Any) -> int:
        time.sleep(0.4)  # runs in a worker thread, like a database waiting on a lock
        return record_escalation(**values)

    monkeypatch.setattr(store, "record_escalation", slow_record)
    monkeypatch.setattr(escalation, "RECORD_WAIT_S", 0.05)

    started = time.perf_counter()
    events = await action.run(dispatcher, tracker_for("red_flag_emergency", []), {})
    elapsed = time.perf_counter() - started

    assert events == [] and dispatcher.messages == []
    assert elapsed < 0.3, f"run took {elapsed:.2f} s: it waited for the database"
    await _drain()
    record = _only_record()
    assert record.notification_status == "sent"
    assert webhook.bodies[0]["escalation_id"] == record.id


async def test_the_action_server_runs_it_and_returns_no_responses(
    configure: Callable[..., Settings],
) -> None:
    configure()
    executor = ActionExecutor()
    executor.register_action(ActionRecordEscalation)
    tracker = tracker_for("red_flag_emergency", ["difficulty_speaking"], channel="socketio")

    response = await executor.run(
        {
            "next_action": "action_record_escalation",
            "sender_id": tracker.sender_id,
            "tracker": tracker.current_state(),
            "domain": {},
        }
    )

    assert response == {"events": [], "responses": []}
    await _drain()
    assert _only_record().symptoms == ["difficulty_speaking"]


def test_the_action_keeps_no_state() -> None:
    # rasa-sdk shares one action object across conversations: no state on it.
    assert vars(ActionRecordEscalation()) == {}
    assert ActionRecordEscalation().name() == "action_record_escalation"


def test_trackers_here_name_only_lexicon_symptoms() -> None:
    with pytest.raises(AssertionError, match="not in the red-flag lexicon"):
        tracker_for("red_flag_urgent", ["ptosis"])
