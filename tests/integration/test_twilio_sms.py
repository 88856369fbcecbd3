"""Text messages against the real Rasa and action servers, with the fake Twilio.

This module starts its own action server and a Rasa server with the Twilio channel
on, from one set of settings (one database, one shared secret), with the fake
Twilio on one side and, on the other, the clinic's escalation webhook: a local
receiver that checks each notice's signature, so "staff are notified" is what the
real notifier delivered. The fake signs and posts inbound messages as Twilio does
and receives the REST sends.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional

import pytest

from clinic_assistant.channels.twilio_channel import conversation_id
from clinic_assistant.escalations.notifier import SIGNATURE_HEADER, verify_signature
from clinic_assistant.escalations.service import EscalationService
from clinic_assistant.servers import action_server, local_settings
from clinic_assistant.settings import ClinicSettings, load_settings
from clinic_assistant.staff_review import build_review
from tests.conftest import MODEL
from tests.fake_twilio import CLINIC_NUMBER, ID_KEY, FakeTwilio, twilio_rasa_server

pytestmark = pytest.mark.integration
EMERGENCY = "This could be a medical emergency. Call 911 now"
DURATION = "Duration: Benefits typically last about 10-12 weeks"
DISCLAIMER = (
    "Automated assistant of Dr. Sader's Neurology & Pain Clinic: general "
    "information, not medical advice. In an emergency call 911. Reply HELP for "
    "help, STOP to opt out."
)
NOTICE_SECRET = "integration-notice-secret-0123456789abcdef"
WARM_UP = "+15550209999"  # not one of Sms.patient()'s numbers


class StaffHook:
    """The clinic's escalation webhook on 127.0.0.1: keeps the notices signed with
    :data:`NOTICE_SECRET` (a notice with a wrong signature is refused and not kept)."""

    def __init__(self) -> None:
        self.notices: List[Dict[str, Any]] = []
        self._cond = threading.Condition()
        self._server: Optional[ThreadingHTTPServer] = None

    def start(self) -> StaffHook:
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # quiet
                return

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                ok = verify_signature(NOTICE_SECRET, self.headers.get(SIGNATURE_HEADER), body)
                self.send_response(204 if ok else 401)
                self.send_header("Content-Length", "0")
                self.end_headers()
                if ok:
                    with hook._cond:
                        hook.notices.append(json.loads(body))
                        hook._cond.notify_all()

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}/escalations"

    def wait_for(self, escalation_id: int, timeout_s: float = 20.0) -> Dict[str, Any]:
        """The notice of escalation ``escalation_id``, once it arrived."""
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while True:
                for notice in self.notices:
                    if notice.get("escalation_id") == escalation_id:
                        return notice
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"no notice for escalation {escalation_id}")
                self._cond.wait(left)

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()


class Sms:
    """The fake Twilio, the clinic's webhook and the database behind the servers."""

    def __init__(self, fake: FakeTwilio, hook: StaffHook, db_path: Path) -> None:
        self.fake = fake
        self.hook = hook
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

    def wait_rows(
        self,
        sql: str,
        *args: Any,
        until: Callable[[List[Any]], bool] = bool,
        timeout_s: float = 20.0,
    ) -> List[Any]:
        """``query`` again until ``until`` holds for its rows (they are written in the
        background, after the reply) or ``timeout_s`` passed; the last rows."""
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                rows = self.query(sql, *args)
            except sqlite3.OperationalError:  # the table is made on first use
                rows = []
            if until(rows) or time.monotonic() > deadline:
                return rows
            time.sleep(0.1)


@pytest.fixture(scope="module")
def sms(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sms]:
    if not MODEL.exists():
        pytest.fail(f"{MODEL} is missing: run `make setup` first")
    folder = tmp_path_factory.mktemp("sms")
    db_path = folder / "assistant.db"
    hook = StaffHook().start()
    fake = FakeTwilio().start()
    notices = {"ESCALATION_WEBHOOK_URL": hook.url, "ESCALATION_WEBHOOK_SECRET": NOTICE_SECRET}
    settings = local_settings(f"sqlite:///{db_path}", **notices)
    actions = action_server(settings, folder / "actions.log")
    actions.env.update(notices)  # not among the variables every server is given
    rasa = twilio_rasa_server(fake, settings, folder / "rasa-twilio.log")
    try:
        actions.start()
        rasa.start()
        # A fresh server's first turn builds its TensorFlow graphs (40 s seen on a loaded
        # 2-core machine): one message first, so each test's own wait is for its turn.
        sms = Sms(fake, hook, db_path)
        fake.sms(WARM_UP, "hello")
        fake.wait_for(WARM_UP, 1, timeout_s=300)
        yield sms
    finally:
        rasa.stop()
        actions.stop()
        fake.stop()
        hook.stop()
    for log in ("rasa-twilio.log", "actions.log"):
        text = (folder / log).read_text("utf-8", "replace")
        assert "1555020" not in text, f"a patient's number in {log}"
    # Every custom action ran: a refused one still lets the domain's replies out,
    # so only Rasa's log shows it.
    assert "Failed to execute custom action" not in (folder / "rasa-twilio.log").read_text(
        "utf-8", "replace"
    )


def escalations_of(sms: Sms, patient: str) -> List[Any]:
    """(id, level, channel) of the patient's escalation records, once written."""
    cid = conversation_id(patient, ID_KEY)
    return sms.wait_rows(
        "SELECT id, level, channel FROM escalations WHERE conversation_id = ?", cid
    )


def test_a_question_gets_the_sheet_answer_with_numbered_follow_ups(sms: Sms) -> None:
    patient = sms.patient()
    [reply] = sms.say(patient, "how long does the botox last?", 1)
    assert reply.startswith(DISCLAIMER + "\n\n" + DURATION)
    assert "Reply with a number:\n1 When does it start working?\n2 What should I track?" in reply
    assert "/faq" not in reply
    replies = sms.say(patient, "1", 2)
    assert replies[1].startswith("Onset of relief: Botox usually starts working around day 3")
    assert DISCLAIMER not in replies[1]
    assert "Reply with a number:\n1 How long does it last?\n2 What should I track?" in replies[1]
    replies = sms.say(patient, "#2", 3)
    assert replies[2].startswith("Monitoring: Your doctor will ask you to track how much")
    replies = sms.say(patient, "#9", 4)
    assert replies[3].startswith("Sorry, that number is not one of the choices")


def test_an_emergency_by_sms_comes_first_is_recorded_and_staff_are_told(sms: Sms) -> None:
    patient = sms.patient()
    [reply] = sms.say(patient, "my husband can barely swallow since his shots", 1)
    assert reply.startswith(EMERGENCY)
    assert DISCLAIMER in reply
    [(escalation_id, level, channel)] = escalations_of(sms, patient)
    assert (level, channel) == ("emergency", "twilio")
    notice = sms.hook.wait_for(escalation_id)
    assert (notice["level"], notice["channel"]) == ("emergency", "twilio")
    cid = conversation_id(patient, ID_KEY)
    assert patient[1:] not in json.dumps(notice) and cid not in json.dumps(notice)
    assert sms.wait_rows(
        "SELECT notification_status FROM escalations WHERE id = ?",
        escalation_id,
        until=lambda rows: rows == [("sent",)],
    ) == [("sent",)]
    # The tracker knows the conversation only by its keyed hash.
    assert sms.query("SELECT count(*) FROM events WHERE sender_id = ?", patient) == [(0,)]
    assert sms.query("SELECT count(*) FROM events WHERE sender_id = ?", cid)[0][0] > 0
    kinds = sms.wait_rows(
        "SELECT kind, escalation_level FROM twilio_outbound WHERE conversation_id = ?", cid
    )
    assert kinds == [("escalation", "emergency")]


def test_an_opted_out_patient_with_a_danger_sign_gets_no_text_but_staff_are_told(
    sms: Sms,
) -> None:
    patient = sms.patient()
    assert "unsubscribed" in sms.say(patient, "STOP", 1)[0]
    status, _, _ = sms.fake.sms(patient, "I can't breathe properly since the injections")
    assert status == 200
    [(escalation_id, level, channel)] = escalations_of(sms, patient)
    assert (level, channel) == ("emergency", "twilio")
    assert sms.hook.wait_for(escalation_id)["level"] == "emergency"
    # No text (the patient said STOP); the reply that was not sent is flagged for a call.
    cid = conversation_id(patient, ID_KEY)
    rows = sms.wait_rows(
        "SELECT kind, status, needs_callback FROM twilio_outbound "
        "WHERE conversation_id = ? AND kind = 'escalation'",
        cid,
    )
    assert rows == [("escalation", "not_sent_opted_out", 1)]
    assert len(sms.fake.quiet(patient, 1.0)) == 1
    # make review lists it for a call.
    db_url = f"sqlite:///{sms.db_path}"
    review = build_review(EscalationService(replace(load_settings({}), db_url=db_url)))
    listed = review.texts_not_delivered
    mine = [(t["level"], t["status"]) for t in listed if t["conversation"] == cid]
    assert mine == [("emergency", "not_sent_opted_out")]


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
    cid = conversation_id(patient, ID_KEY)
    consent = "SELECT opted_out, how, at IS NOT NULL FROM twilio_consent WHERE conversation_id = ?"
    assert sms.query(consent, cid) == [(1, "STOP", 1)]
    status, _, _ = sms.fake.sms(patient, "how long does it last?")
    assert status == 200
    assert len(sms.fake.quiet(patient, 2.0)) == 1
    replies = sms.say(patient, "START", 2)
    assert "subscribed again" in replies[1]
    assert sms.query(consent, cid) == [(1, "STOP", 1), (0, "START", 1)]
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
