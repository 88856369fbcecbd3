"""The escalation service: validation against the lexicon, background recording,
merged repeats, notices only when staff learn something new, staff actions.

A tmp SQLite database and a real local webhook receiver (tests/unit/conftest.py).
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, AsyncIterator, Callable, Dict

import pytest
import pytest_asyncio

from clinic_assistant.contract import RedFlag
from clinic_assistant.escalations import store
from clinic_assistant.escalations.model import is_ref, new_ref
from clinic_assistant.escalations.service import EscalationService, lexicon_levels
from clinic_assistant.settings import Settings, load_settings
from tests.unit.conftest import Webhook

MESSAGE = "my wife can barely swallow since her shots"


@pytest_asyncio.fixture
async def make(tmp_path: Path) -> AsyncIterator[Callable[..., EscalationService]]:
    """A service on a tmp database with the given settings; drains its work afterwards."""
    made = []

    def build(**env: str) -> EscalationService:
        settings = load_settings({"ASSISTANT_DB_URL": f"sqlite:///{tmp_path / 'a.db'}", **env})
        service = EscalationService(settings)
        made.append(service)
        return service

    yield build
    for service in made:
        assert await service.drain(timeout_s=10)
    store.dispose_engines()


def _settings(service: EscalationService) -> Settings:
    return service.settings


def _report(service: EscalationService, **overrides: Any) -> str:
    values: Dict[str, Any] = {
        "conversation_id": "patient-1",
        "channel": "rest",
        "red_flag": RedFlag("emergency", ("difficulty_swallowing",)),
        "message": MESSAGE,
    }
    values.update(overrides)
    return service.report(service.sighting(**values))


def test_the_lexicon_is_where_the_names_come_from() -> None:
    levels = lexicon_levels()
    assert levels["difficulty_breathing"] == "emergency"
    assert levels["drooping_eyelids"] == "urgent"


@pytest.mark.parametrize(
    "red_flag, level, symptoms",
    [
        # Unknown names are dropped, never stored: they may be anybody's text.
        (
            RedFlag("emergency", ("<script>alert(1)</script>", "choking", "x" * 5000)),
            "emergency",
            ("choking",),
        ),
        # The level is never lower than a named symptom's.
        (
            RedFlag("urgent", ("drooping_eyelids", "difficulty_breathing")),
            "emergency",
            ("drooping_eyelids", "difficulty_breathing"),
        ),
        # An unknown level is an emergency: when in doubt, escalate.
        (RedFlag("mild", ("vision_changes",)), "emergency", ("vision_changes",)),
        (None, "emergency", ()),
        (RedFlag("urgent", ("vision_changes", "vision_changes")), "urgent", ("vision_changes",)),
    ],
)
async def test_sightings_are_checked_against_the_lexicon(
    make: Callable[..., EscalationService],
    caplog: pytest.LogCaptureFixture,
    red_flag: Any,
    level: str,
    symptoms: tuple,
) -> None:
    service = make()
    caplog.set_level(logging.INFO)
    ref = _report(service, red_flag=red_flag)
    await service.drain()

    [record] = store.list_escalations(db_url=_settings(service).db_url)
    assert (record.ref, record.level, record.symptoms) == (ref, level, symptoms)
    assert "script" not in caplog.text and "xxxxx" not in caplog.text


async def test_report_returns_the_reference_before_anything_is_written(
    make: Callable[..., EscalationService],
    webhook: Webhook,
) -> None:
    webhook.script = [(200, 0.5)]
    service = make(ESCALATION_WEBHOOK_URL=webhook.url)

    started = time.perf_counter()
    ref = _report(service)
    elapsed = time.perf_counter() - started

    assert is_ref(ref)
    assert elapsed < 0.05, f"report took {elapsed * 1000:.0f} ms"
    assert service.pending(), "recording and notifying go on in the background"
    await service.drain()
    [record] = store.list_escalations(db_url=_settings(service).db_url)
    assert record.ref == ref and record.notification_status == "sent"
    assert webhook.bodies[0]["ref"] == ref


async def test_a_flood_in_one_conversation_is_one_record_and_few_notices(
    make: Callable[..., EscalationService],
    webhook: Webhook,
) -> None:
    service = make(ESCALATION_WEBHOOK_URL=webhook.url)
    ref = _report(service, red_flag=RedFlag("urgent", ("vision_changes",)))
    # 99 more at once (as forged messages would come), some with a new symptom.
    for number in range(99):
        symptoms = ("vision_changes", "choking") if number == 50 else ("vision_changes",)
        _report(service, red_flag=RedFlag("urgent", symptoms), ref=ref if number % 2 else None)
    await service.drain()

    [record] = store.list_escalations(db_url=_settings(service).db_url)
    assert record.count == 100
    assert record.level == "emergency" and record.symptoms == ("vision_changes", "choking")
    # The first notice, and one when choking (an emergency) appeared: not 100.
    assert len(webhook.bodies) == 2
    assert [body["level"] for body in webhook.bodies] == ["urgent", "emergency"]


async def test_conversations_are_apart(make: Callable[..., EscalationService]) -> None:
    service = make()
    refs = {_report(service, conversation_id=f"patient-{n}") for n in range(5)}
    await service.drain()
    records = store.list_escalations(db_url=_settings(service).db_url)
    assert {record.ref for record in records} == refs and len(records) == 5


async def test_a_database_failure_still_notifies_without_an_id(
    make: Callable[..., EscalationService],
    webhook: Webhook,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    service = make(
        ESCALATION_WEBHOOK_URL=webhook.url, ASSISTANT_DB_URL=f"sqlite:///{blocker / 'assistant.db'}"
    )
    caplog.set_level(logging.DEBUG)

    ref = _report(service)
    await service.drain()

    assert len(webhook.bodies) == 1
    assert webhook.bodies[0]["escalation_id"] is None and webhook.bodies[0]["ref"] == ref
    assert "could not be recorded" in caplog.text
    assert "barely swallow" not in caplog.text


async def test_a_slow_database_delays_only_the_record(
    make: Callable[..., EscalationService],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    service = make()
    real = store.record

    def slow(*args: Any, **kwargs: Any) -> store.Recorded:
        time.sleep(0.3)  # a worker thread, as a database waiting on a lock would
        return real(*args, **kwargs)

    monkeypatch.setattr(store, "record", slow)
    started = time.perf_counter()
    for number in range(5):
        _report(service, conversation_id=f"p{number}")
    assert time.perf_counter() - started < 0.05
    assert await service.drain(timeout_s=10)
    assert len(store.list_escalations(db_url=_settings(service).db_url)) == 5


async def test_drain_gives_up_at_its_timeout(
    make: Callable[..., EscalationService],
    webhook: Webhook,
) -> None:
    webhook.script = [(200, 2.0)]
    service = make(ESCALATION_WEBHOOK_URL=webhook.url, ESCALATION_NOTIFY_TIMEOUT="3")
    _report(service)
    assert not await service.drain(timeout_s=0.3)
    webhook.release.set()
    assert await service.drain(timeout_s=5)


async def test_staff_acknowledge_and_resolve_through_the_service(
    make: Callable[..., EscalationService],
) -> None:
    service = make()
    _report(service)
    await service.drain()
    [record] = service.open_escalations()
    assert record.id is not None
    at = datetime(2026, 5, 1, 12, 0, tzinfo=timezone.utc)

    seen = service.acknowledge(record.id, "Nurse Kim", at=at)
    assert seen is not None and (seen.acknowledged_by, seen.acknowledged_at) == ("Nurse Kim", at)
    done = service.resolve(
        record.id, "Dr. Sader", "Called; she went to the ER.", at=at + timedelta(minutes=9)
    )
    assert done is not None and done.resolution_note == "Called; she went to the ER."
    assert service.open_escalations() == []


async def test_notices_left_pending_are_flagged(make: Callable[..., EscalationService]) -> None:
    # A webhook is configured, so the row starts "pending"; the process "dies"
    # before notifying (the row is written straight to the store here).
    service = make(
        ESCALATION_WEBHOOK_URL="http://127.0.0.1:9/hook", ESCALATION_PENDING_STALE_MINUTES="10"
    )
    sighting = service.sighting(
        conversation_id="p",
        channel="rest",
        red_flag=RedFlag("urgent", ()),
        message="m",
        ref=new_ref(),
    )
    store.record(sighting, db_url=_settings(service).db_url)

    assert service.stale_notices() == []
    later = datetime.now(timezone.utc) + timedelta(minutes=11)
    assert [record.ref for record in service.stale_notices(now=later)] == [sighting.ref]


async def test_locks_are_forgotten_once_a_conversation_is_written(
    make: Callable[..., EscalationService],
) -> None:
    service = make()
    for number in range(20):
        _report(service, conversation_id=f"p{number % 4}")
    await service.drain()
    assert service._locks == {} and service._users == {}
    await asyncio.sleep(0)
