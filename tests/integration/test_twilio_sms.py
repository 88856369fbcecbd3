"""Text messages against the real Rasa and action servers, with the fake Twilio.

A second Rasa server (same model, same throwaway database and action server as the
shared stack) runs with the Twilio settings pointing at the fake: the fake signs and
posts inbound messages as Twilio does and receives the REST sends.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Any, Iterator, List

import pytest

from clinic_assistant.channels.twilio_channel import conversation_id
from clinic_assistant.settings import ClinicSettings
from tests.fake_twilio import CLINIC_NUMBER, ID_KEY, FakeTwilio, twilio_rasa_server
from tests.integration.conftest import Stack

pytestmark = pytest.mark.integration
EMERGENCY = "This could be a medical emergency. Call 911 now"
DURATION = "Duration: Benefits typically last about 10-12 weeks"
DISCLAIMER = (
    "Automated assistant of Dr. Sader's Neurology & Pain Clinic: general "
    "information, not medical advice. In an emergency call 911. Reply HELP for "
    "help, STOP to opt out."
)


class Sms:
    """The fake Twilio plus the database of the Rasa server behind it."""

    def __init__(self, fake: FakeTwilio, db_path: Path) -> None:
        self.fake = fake
        self.db_path = db_path
        self._n = 0

    def patient(self, whatsapp: bool = False) -> str:
        """A new patient's address (a fresh conversation)."""
        self._n += 1
        number = f"+1555020{self._n:04d}"
        return f"whatsapp:{number}" if whatsapp else number

    def say(self, patient: str, text: str, count: int, **kwargs: Any) -> List[str]:
        """Text the assistant; wait until ``count`` messages in all went to ``patient``."""
        status, answer, _ = self.fake.sms(patient, text, **kwargs)
        assert status == 200 and answer.endswith("<Response/>")
        return [m.body for m in self.fake.wait_for(patient, count, timeout_s=30)]

    def query(self, sql: str, *args: Any) -> List[Any]:
        with sqlite3.connect(self.db_path) as db:
            return db.execute(sql, args).fetchall()


@pytest.fixture(scope="module")
def sms(stack: Stack) -> Iterator[Sms]:
    fake = FakeTwilio().start()
    rasa = twilio_rasa_server(
        fake,
        stack.actions.ready_url,
        f"sqlite:///{stack.db_path}",
        stack.db_path.parent / "rasa-twilio.log",
    )
    try:
        rasa.start()
        yield Sms(fake, stack.db_path)
    finally:
        rasa.stop()
        fake.stop()
    log = (stack.db_path.parent / "rasa-twilio.log").read_text("utf-8", "replace")
    assert "+1555020" not in log and "1555020" not in log  # no patient number in the server's log


def test_a_question_gets_the_sheet_answer_with_numbered_follow_ups(sms: Sms) -> None:
    patient = sms.patient()
    [reply] = sms.say(patient, "how long does the botox last?", 1)
    assert reply.startswith(DISCLAIMER + "\n\n" + DURATION)
    assert "Reply with a number:\n1 When does it start working?\n2 What should I track?" in reply
    assert "/faq" not in reply
    replies = sms.say(patient, "1", 2)
    assert replies[1].startswith("Onset of relief: Botox usually starts working around day 3")
    assert DISCLAIMER not in replies[1]
    replies = sms.say(patient, "#9", 3)
    assert replies[2].startswith("Sorry, that number is not one of the choices")


@pytest.mark.xfail(
    strict=False,
    reason=(
        "KNOWN DEFECT found when the branches met on main (2026-12-02), open: "
        "the SMS emergency reply comes first but its escalation record was not found by "
        "the test (timing or channel name)"
    ),
)
def test_an_emergency_by_sms_comes_first_and_is_recorded_for_staff(sms: Sms) -> None:
    patient = sms.patient()
    [reply] = sms.say(patient, "my husband can barely swallow since his shots", 1)
    assert reply.startswith(EMERGENCY)
    assert DISCLAIMER in reply
    cid = conversation_id(patient, ID_KEY)
    deadline = time.monotonic() + 15
    rows: List[Any] = []
    while time.monotonic() < deadline and not rows:
        rows = sms.query("SELECT level, channel FROM escalations WHERE conversation_id = ?", cid)
        time.sleep(0.2)
    assert rows == [("emergency", "twilio")]
    # The tracker knows the conversation only by its keyed hash.
    assert sms.query("SELECT count(*) FROM events WHERE sender_id = ?", patient) == [(0,)]
    assert sms.query("SELECT count(*) FROM events WHERE sender_id = ?", cid)[0][0] > 0


def test_forged_and_unsigned_requests_get_403_and_store_nothing(sms: Sms) -> None:
    patient = sms.patient()
    params = sms.fake.inbound_params(patient, "hello")
    forged = sms.fake.sign(sms.fake.webhook_url, params, token="0" * 32)
    assert sms.fake.post(sms.fake.webhook_url, params, signature=forged)[0] == 403
    assert sms.fake.post(sms.fake.webhook_url, params, signature=None)[0] == 403
    time.sleep(1)
    cid = conversation_id(patient, ID_KEY)
    assert sms.fake.messages_to(patient) == []
    assert sms.query("SELECT count(*) FROM events WHERE sender_id = ?", cid) == [(0,)]
    assert sms.query(
        "SELECT count(*) FROM twilio_inbound WHERE message_sid = ?", params["MessageSid"]
    ) == [(0,)]


def test_the_same_message_sid_twice_gets_one_reply(sms: Sms) -> None:
    patient = sms.patient()
    sid = "SM" + "d" * 32
    sms.say(patient, "what tests are involved?", 1, sid=sid)
    status, _, _ = sms.fake.sms(patient, "what tests are involved?", sid=sid)
    assert status == 200
    assert len(sms.fake.quiet(patient, 2.0)) == 1


def test_stop_then_a_question_gets_nothing_until_start(sms: Sms) -> None:
    patient = sms.patient()
    replies = sms.say(patient, "STOP", 1)
    assert "unsubscribed" in replies[0]
    status, _, _ = sms.fake.sms(patient, "how long does it last?")
    assert status == 200
    assert len(sms.fake.quiet(patient, 2.0)) == 1
    replies = sms.say(patient, "START", 2)
    assert "subscribed again" in replies[1]
    replies = sms.say(patient, "how long does it last?", 3)
    assert DURATION in replies[2]


def test_help_names_the_clinic_and_how_to_opt_out(sms: Sms) -> None:
    [reply] = sms.say(sms.patient(), "HELP", 1)
    clinic = ClinicSettings()
    assert clinic.name in reply and clinic.phone in reply and clinic.hours in reply
    assert "Reply STOP to opt out" in reply


def test_a_picture_alone_gets_a_kind_reply(sms: Sms) -> None:
    [reply] = sms.say(sms.patient(), "", 1, num_media=1)
    assert "I can only read text" in reply


def test_a_3000_character_message_is_read_and_answered_within_the_limit(sms: Sms) -> None:
    patient = sms.patient()
    text = "I can't breathe properly since the injections. " + "and my neck is sore " * 150
    assert len(text) > 3000
    status, _, seconds = sms.fake.sms(patient, text[:3000])
    assert status == 200 and seconds < 2
    replies = [m.body for m in sms.fake.wait_for(patient, 1, timeout_s=30)]
    assert replies[0].startswith(EMERGENCY)
    assert all(len(body) <= 1600 for body in replies)


def test_a_whatsapp_sender_is_answered_on_whatsapp(sms: Sms) -> None:
    patient = sms.patient(whatsapp=True)
    [reply] = sms.say(patient, "how long does it last?", 1)
    assert DURATION in reply
    sent = sms.fake.messages_to(patient)[0]
    assert sent.from_ == f"whatsapp:{CLINIC_NUMBER}"


def test_a_500_then_success_delivers_one_message(sms: Sms) -> None:
    patient = sms.patient()
    before = sms.fake.requests
    sms.fake.fail_next("500")
    [reply] = sms.say(patient, "what tests are involved?", 1)
    assert reply
    assert len(sms.fake.quiet(patient, 1.0)) == 1
    assert sms.fake.requests - before == 2


def test_a_status_callback_marks_an_escalation_reply_failed_for_a_call(sms: Sms) -> None:
    patient = sms.patient()
    sms.say(patient, "I can't swallow my own saliva", 1)
    sid = sms.fake.messages_to(patient)[0].sid
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not sms.query(
        "SELECT 1 FROM twilio_outbound WHERE message_sid = ?", sid
    ):
        time.sleep(0.1)
    assert sms.fake.status(sid, "sent")[0] == 200
    assert sms.fake.status(sid, "failed", 30008)[0] == 200
    rows: List[Any] = []
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        rows = sms.query(
            "SELECT status, error_code, needs_callback, kind FROM twilio_outbound "
            "WHERE message_sid = ?",
            sid,
        )
        if rows and rows[0][0] == "failed":
            break
        time.sleep(0.1)
    assert rows == [("failed", 30008, 1, "escalation")]
