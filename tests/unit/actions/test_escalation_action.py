"""action_record_escalation: a thin adapter that hands the red flag to the service,
tells the patient nothing, waits for nothing, and returns the reference as a slot.

Trackers are built inline with the lexicon's own symptom names; the database is
a tmp SQLite file; the clinic's webhook is a real aiohttp server on 127.0.0.1.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any, AsyncIterator, Callable, Dict, List, Optional

import pytest
import pytest_asyncio
from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import ActionExecutor, CollectingDispatcher

from actions.escalation import ActionRecordEscalation
from clinic_assistant.contract import ESCALATION_REF_SLOT
from clinic_assistant.escalations import service as service_module
from clinic_assistant.escalations import store
from clinic_assistant.escalations.model import Escalation, is_ref
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
        "ESCALATION_WEBHOOK_SECRET",
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
    assert await service_module.get_service().drain(timeout_s=5)
    get_settings.cache_clear()
    store.dispose_engines()


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
    ref: Optional[str] = None,
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
    slots = {ESCALATION_REF_SLOT: ref}
    return Tracker(sender_id, slots, latest, events, False, None, {}, "utter_escalation_emergency")


async def _only_record() -> Escalation:
    assert await service_module.get_service().drain(timeout_s=5)
    records = store.list_escalations()
    assert len(records) == 1
    return records[0]


def test_trackers_here_name_only_lexicon_symptoms() -> None:
    with pytest.raises(AssertionError, match="not in the red-flag lexicon"):
        tracker_for("red_flag_urgent", ["ptosis"])


@pytest.mark.parametrize(
    "intent, level, symptoms, expected_symptoms",
    [
        (
            "red_flag_emergency",
            "emergency",
            ["difficulty_breathing", "difficulty_swallowing", "difficulty_breathing"],
            ("difficulty_breathing", "difficulty_swallowing"),
        ),
        ("red_flag_urgent", "urgent", ["drooping_eyelids"], ("drooping_eyelids",)),
        # The action ran although the intent is not a red flag: when in doubt, escalate.
        ("faq/side_effects", "emergency", [], ()),
        (None, "emergency", [], ()),
    ],
)
async def test_records_the_escalation_and_returns_its_reference(
    action: ActionRecordEscalation,
    dispatcher: CollectingDispatcher,
    configure: Callable[..., Settings],
    intent: Optional[str],
    level: str,
    symptoms: List[str],
    expected_symptoms: tuple,
) -> None:
    configure()

    events = await action.run(dispatcher, tracker_for(intent, symptoms), {})

    assert dispatcher.messages == []
    [event] = events
    assert event == SlotSet(ESCALATION_REF_SLOT, event["value"]) and is_ref(event["value"])
    record = await _only_record()
    assert record.ref == event["value"]
    assert (record.level, record.symptoms) == (level, expected_symptoms)
    assert (record.message, record.conversation_id, record.channel) == (TEXT, "patient-42", "rest")
    assert record.notification_status == "not_configured"


async def test_a_yes_to_the_safety_question_records_the_flag_it_confirms(
    action: ActionRecordEscalation,
    dispatcher: CollectingDispatcher,
    configure: Callable[..., Settings],
) -> None:
    configure()
    unsure: Dict[str, Any] = {
        "intent": {"name": "red_flag_check_urgent", "confidence": 1.0},
        "entities": [],
        "text": "my eyelid is a bit droopy",
        "red_flag_check": {"level": "urgent", "symptoms": ["drooping_eyelids"], "answer": None},
    }
    yes: Dict[str, Any] = {"intent": {"name": "affirm", "confidence": 1.0}, "entities": []}
    yes["text"] = "yes"
    events: List[Dict[str, Any]] = [
        {"event": "user", "text": unsure["text"], "parse_data": unsure, "input_channel": "rest"},
        {"event": "bot", "text": "Is this happening to you now?"},
        {"event": "user", "text": "yes", "parse_data": yes, "input_channel": "rest"},
    ]
    tracker = Tracker("patient-7", {}, yes, events, False, None, {}, "utter_escalation_urgent")
    await action.run(dispatcher, tracker, {})
    record = await _only_record()
    assert (record.level, record.symptoms) == ("urgent", ("drooping_eyelids",))


async def test_a_repeat_reuses_the_slots_reference_and_merges(
    action: ActionRecordEscalation,
    dispatcher: CollectingDispatcher,
    configure: Callable[..., Settings],
) -> None:
    configure()
    [first] = await action.run(dispatcher, tracker_for("red_flag_urgent", ["vision_changes"]), {})
    await _only_record()
    [second] = await action.run(
        dispatcher, tracker_for("red_flag_emergency", ["choking"], ref=first["value"]), {}
    )

    assert second["value"] == first["value"]
    record = await _only_record()
    assert (record.count, record.level) == (2, "emergency")
    assert record.symptoms == ("vision_changes", "choking")


async def test_returns_before_a_slow_webhook_or_database(
    action: ActionRecordEscalation,
    dispatcher: CollectingDispatcher,
    configure: Callable[..., Settings],
    webhook: Webhook,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    webhook.script = [(200, 0.6)]
    configure(
        ESCALATION_WEBHOOK_URL=webhook.url,
        ESCALATION_NOTIFY_TIMEOUT="3",
        ESCALATION_NOTIFY_ATTEMPTS="1",
    )
    real = store.record

    def slow(*args: Any, **kwargs: Any) -> store.Recorded:
        time.sleep(0.4)  # runs in a worker thread, like a database waiting on a lock
        return real(*args, **kwargs)

    monkeypatch.setattr(store, "record", slow)
    started = time.perf_counter()
    events = await action.run(
        dispatcher,
        tracker_for("red_flag_emergency", ["difficulty_breathing"], channel="twilio"),
        {},
    )
    elapsed = time.perf_counter() - started

    assert len(events) == 1 and dispatcher.messages == []
    assert elapsed < 0.1, f"run took {elapsed:.2f} s: it waited for the record or the notice"
    record = await _only_record()
    assert (record.notification_status, record.notification_attempts) == ("sent", 1)
    assert webhook.bodies[0]["ref"] == events[0]["value"]
    assert webhook.bodies[0]["escalation_id"] == record.id
    assert webhook.bodies[0]["channel"] == "twilio"


async def test_a_broken_database_still_notifies_and_never_logs_the_message(
    action: ActionRecordEscalation,
    dispatcher: CollectingDispatcher,
    configure: Callable[..., Settings],
    webhook: Webhook,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    configure(
        ASSISTANT_DB_URL=f"sqlite:///{blocker / 'assistant.db'}", ESCALATION_WEBHOOK_URL=webhook.url
    )
    caplog.set_level(logging.DEBUG)

    events = await action.run(dispatcher, tracker_for("red_flag_urgent", ["drooping_eyelids"]), {})
    assert await service_module.get_service().drain(timeout_s=5)

    assert len(events) == 1 and dispatcher.messages == []
    assert [body["escalation_id"] for body in webhook.bodies] == [None]
    assert webhook.bodies[0]["level"] == "urgent"
    assert "could not be recorded" in caplog.text
    assert "barely swallow" not in caplog.text
    for entry in caplog.records:
        assert "barely swallow" not in str(entry.args)


async def test_the_action_server_runs_it_and_returns_the_slot(
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

    assert response is not None and response["responses"] == []
    [event] = response["events"]
    assert (event["event"], event["name"]) == ("slot", ESCALATION_REF_SLOT)
    record = await _only_record()
    assert record.symptoms == ("difficulty_speaking",) and record.ref == event["value"]


def test_the_action_keeps_no_state() -> None:
    # rasa-sdk shares one action object across conversations: no state on it.
    assert vars(ActionRecordEscalation()) == {}
    assert ActionRecordEscalation().name() == "action_record_escalation"
