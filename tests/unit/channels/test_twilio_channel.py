"""ClinicTwilioInput in a real Sanic server, against the fake Twilio (no Rasa model).

The agent is replaced by a handler that answers like the real one would (a text with
buttons, an escalation with its payload), so these tests cover the channel itself:
signatures, idempotency, keywords, numbered options, sending, retries, statuses and
the privacy of logs. tests/integration/test_twilio_sms.py runs the real servers.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from contextlib import asynccontextmanager
from pathlib import Path
from types import SimpleNamespace
from typing import Any, AsyncIterator, Dict, List

import pytest
import sqlalchemy as sa
from rasa.core.channels.channel import UserMessage
from rasa.shared.core.domain import Domain
from sanic import Sanic

from clinic_assistant.channels import twilio_store as store
from clinic_assistant.channels.twilio_channel import (
    ClinicTwilioInput,
    conversation_id,
    normalize_address,
)
from clinic_assistant.servers import free_port
from clinic_assistant.settings import Settings, load_settings
from tests.fake_twilio import ACCOUNT_SID, AUTH_TOKEN, CLINIC_NUMBER, ID_KEY, FakeTwilio

PATIENT = "+15550123456"
MENU = [
    {"title": "When does it start working?", "payload": "/faq/onset"},
    {"title": "How long does it last?", "payload": "/faq/duration"},
]
ESCALATION = {"escalation": {"level": "emergency", "symptoms": ["difficulty_swallowing"]}}
SECRET_WORDS = "my neighbour Alice"


@pytest.fixture(autouse=True)
def sanic_test_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    # Sanic 21.12 cannot "touch up" its protocol twice in one process outside test mode.
    monkeypatch.setattr(Sanic, "test_mode", True)


@pytest.fixture()
def fake() -> Any:
    twilio = FakeTwilio().start()
    yield twilio
    twilio.stop()


def settings_for(fake: FakeTwilio, db: Path, port: int, **extra: str) -> Settings:
    base = f"http://127.0.0.1:{port}/webhooks/twilio"
    fake.webhook_url, fake.status_url = f"{base}/webhook", f"{base}/status"
    return load_settings(
        {
            "ASSISTANT_DB_URL": f"sqlite:///{db}",
            "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
            "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
            "TWILIO_NUMBER": CLINIC_NUMBER,
            "TWILIO_ID_KEY": ID_KEY,
            "TWILIO_WEBHOOK_URL": fake.webhook_url,
            "TWILIO_STATUS_URL": fake.status_url,
            "TWILIO_API_BASE_URL": fake.base_url,
            "TWILIO_SEND_TIMEOUT": "2",
            "TWILIO_CLINIC_NAME": "The Clinic",
            **extra,
        }
    )


class Agent:
    """Stands in for Rasa: answers by the text, records what it was given."""

    def __init__(self) -> None:
        self.received: List[UserMessage] = []

    async def __call__(self, message: UserMessage) -> None:
        self.received.append(message)
        out = message.output_channel
        text = message.text or ""
        if "swallow" in text:
            await out.send_response(
                message.sender_id, {"text": "Call 911 now.", "custom": dict(ESCALATION)}
            )
        elif text.startswith("/faq/"):
            await out.send_response(message.sender_id, {"text": f"Answer to {text}."})
        elif text == "crash" or text.endswith("(crash)"):
            raise RuntimeError("boom")
        elif text == "silence":
            return  # like an agent without a model: no response at all
        else:
            await out.send_response(
                message.sender_id, {"text": "Duration: 10-12 weeks.", "buttons": MENU}
            )


@asynccontextmanager
async def sms_server(
    fake: FakeTwilio, tmp_path: Path, domain: Any = None, **extra: str
) -> AsyncIterator[tuple[ClinicTwilioInput, Agent, Settings]]:
    port = free_port()
    settings = settings_for(fake, tmp_path / "assistant.db", port, **extra)
    channel = ClinicTwilioInput(settings)
    channel.sender = None
    agent = Agent()
    app = Sanic(f"test_{uuid.uuid4().hex}")
    if domain is not None:
        app.ctx.agent = SimpleNamespace(domain=domain)  # what Rasa's server holds
    app.blueprint(channel.blueprint(agent), url_prefix="/webhooks/twilio")
    server = await app.create_server(
        host="127.0.0.1", port=port, return_asyncio_server=True, access_log=False
    )
    assert server is not None
    await server.startup()
    await server.before_start()
    await server.after_start()
    try:
        yield channel, agent, settings
    finally:
        await channel.drain(10)
        await server.before_stop()
        await server.close()
        await server.after_stop()
        store.dispose_engines()


async def sms(fake: FakeTwilio, body: str, from_: str = PATIENT, **kwargs: Any) -> int:
    status, answer, _ = await asyncio.to_thread(fake.sms, from_, body, **kwargs)
    if status == 200:
        assert answer == '<?xml version="1.0" encoding="UTF-8"?><Response/>'
    return int(status)


async def replies(fake: FakeTwilio, count: int, to: str = PATIENT) -> List[str]:
    sent = await asyncio.to_thread(fake.wait_for, to, count, 10)
    return [m.body for m in sent]


async def settle(channel: ClinicTwilioInput) -> None:
    await asyncio.sleep(0.05)
    await asyncio.wait(set(channel._tasks) or {asyncio.ensure_future(asyncio.sleep(0))}, timeout=10)


def rows(settings: Settings, table: sa.Table) -> List[Dict[str, Any]]:
    with store.get_engine(settings.db_url).connect() as conn:
        return [dict(r) for r in conn.execute(sa.select(table)).mappings()]


def cid(settings: Settings, address: str = PATIENT) -> str:
    return conversation_id(address, settings.twilio.id_key)


def test_the_conversation_id_is_a_keyed_hash() -> None:
    a = conversation_id(PATIENT, ID_KEY)
    assert a.startswith("twilio_") and PATIENT.lstrip("+") not in a
    assert a == conversation_id(PATIENT, ID_KEY) != conversation_id(PATIENT, ID_KEY + "x")
    assert conversation_id("whatsapp:" + PATIENT, ID_KEY) != a
    assert normalize_address(" WhatsApp:+1 555 0123456") == "whatsapp:+15550123456"


async def test_unsigned_and_forged_requests_get_403_and_store_nothing(
    fake: FakeTwilio, tmp_path: Path
) -> None:
    async with sms_server(fake, tmp_path) as (channel, agent, settings):
        assert await sms(fake, "hello", signature=None) == 403
        assert await sms(fake, "hello", signature="bm90IGEgc2lnbmF0dXJl") == 403
        forged = fake.inbound_params(PATIENT, "hello")
        wrong = fake.sign(fake.webhook_url, forged, token="0" * 32)
        assert (await asyncio.to_thread(fake.post, fake.webhook_url, forged, signature=wrong))[
            0
        ] == 403
        # Signed for another URL (a replay against this one) is refused too.
        other = fake.sign("https://elsewhere.example/webhooks/twilio/webhook", forged)
        assert (await asyncio.to_thread(fake.post, fake.webhook_url, forged, signature=other))[
            0
        ] == 403
        # A changed body under a valid signature.
        tampered = dict(forged, Body="tampered")
        good = fake.sign(fake.webhook_url, forged)
        assert (await asyncio.to_thread(fake.post, fake.webhook_url, tampered, signature=good))[
            0
        ] == 403
        status = await asyncio.to_thread(fake.status, "SM" + "0" * 32, "failed")
        assert status[0] == 200  # signed: accepted (an unknown sid changes nothing)
        unsigned = await asyncio.to_thread(
            fake.post,
            fake.status_url,
            {"MessageSid": "SMx", "MessageStatus": "failed"},
            signature=None,
        )
        assert unsigned[0] == 403
        await settle(channel)
        assert agent.received == []
        assert rows(settings, store.inbound) == [] and rows(settings, store.contacts) == []
        assert fake.sent == []


async def test_an_answer_with_buttons_then_a_number_picks_that_option(
    fake: FakeTwilio, tmp_path: Path
) -> None:
    async with sms_server(fake, tmp_path) as (_channel, agent, settings):
        assert await sms(fake, "how long does it last?") == 200
        first = await replies(fake, 1)
        assert first[0].startswith(
            "Automated assistant of The Clinic: general information, "
            "not medical advice. In an emergency call 911. Reply HELP "
            "for help, STOP to opt out."
        )
        assert first[0].endswith(
            "Duration: 10-12 weeks.\n\nReply with a number:\n"
            "1 When does it start working?\n2 How long does it last?"
        )
        assert await sms(fake, "#2") == 200
        second = await replies(fake, 2)
        assert second[1] == "Answer to /faq/duration."  # no disclaimer the second time
        assert await sms(fake, "one") == 200
        third = await replies(fake, 3)
        assert third[2].startswith("Sorry, that number is not one of the choices")
        assert [m.text for m in agent.received] == ["how long does it last?", "/faq/duration"]
        assert all(m.sender_id == cid(settings) for m in agent.received)
        assert all(m.input_channel == "twilio" for m in agent.received)


async def test_the_same_message_sid_twice_is_answered_once(
    fake: FakeTwilio, tmp_path: Path
) -> None:
    async with sms_server(fake, tmp_path) as (channel, agent, settings):
        assert await sms(fake, "hello", sid="SM" + "a" * 32) == 200
        assert await sms(fake, "hello", sid="SM" + "a" * 32) == 200
        await settle(channel)
        assert len(await replies(fake, 1)) == 1
        await asyncio.sleep(0.3)
        assert len(fake.messages_to(PATIENT)) == 1
        assert len(agent.received) == 1
        assert [r["status"] for r in rows(settings, store.inbound)] == ["done"]


async def test_stop_then_a_question_then_start(fake: FakeTwilio, tmp_path: Path) -> None:
    async with sms_server(fake, tmp_path) as (channel, agent, settings):
        assert await sms(fake, "hello") == 200
        await replies(fake, 1)
        assert await sms(fake, "STOP") == 200
        assert (await replies(fake, 2))[1].startswith("The Clinic: you are unsubscribed")
        assert await sms(fake, "stop") == 200  # confirmed once only
        assert await sms(fake, "how long does it last?") == 200
        await settle(channel)
        assert len(fake.messages_to(PATIENT)) == 2
        # Read by the assistant all the same (danger signs reach staff).
        assert agent.received[-1].text == "how long does it last?"
        assert await sms(fake, "START") == 200
        assert (await replies(fake, 3))[2].startswith("The Clinic: you are subscribed again")
        assert await sms(fake, "hello") == 200
        assert (await replies(fake, 4))[3].startswith("Duration")
        consent = store.consent_rows(settings.db_url, cid(settings))
        assert [(c["opted_out"], c["how"]) for c in consent] == [(True, "STOP"), (False, "START")]


async def test_an_opted_out_patient_with_a_danger_sign_gets_no_text_but_is_flagged(
    fake: FakeTwilio, tmp_path: Path
) -> None:
    async with sms_server(fake, tmp_path) as (channel, agent, settings):
        assert await sms(fake, "QUIT") == 200
        await replies(fake, 1)
        assert await sms(fake, "I can't swallow") == 200
        await settle(channel)
        assert len(fake.messages_to(PATIENT)) == 1
        assert agent.received[-1].text == "I can't swallow"
        flagged = [r for r in store.outbound_rows(settings.db_url) if r["needs_callback"]]
        assert [(r["status"], r["escalation_level"]) for r in flagged] == [
            ("not_sent_opted_out", "emergency")
        ]


async def test_yes_is_an_answer_unless_opted_out(fake: FakeTwilio, tmp_path: Path) -> None:
    async with sms_server(fake, tmp_path) as (_channel, agent, _settings):
        assert await sms(fake, "yes") == 200
        await replies(fake, 1)
        assert [m.text for m in agent.received] == ["yes"]


async def test_help_media_and_empty(fake: FakeTwilio, tmp_path: Path) -> None:
    async with sms_server(fake, tmp_path) as (_channel, agent, _settings):
        assert await sms(fake, "HELP") == 200
        help_text = (await replies(fake, 1))[0]
        assert "The Clinic: call (555) 010-0199 (Monday to Friday, 8 am to 5 pm)" in help_text
        assert "Reply STOP to opt out" in help_text
        assert await sms(fake, "", num_media=1) == 200
        assert "I can only read text" in (await replies(fake, 2))[1]
        assert await sms(fake, "   ") == 200
        assert "I can only read text" in (await replies(fake, 3))[2]
        assert await sms(fake, "how long does it last?", num_media=2) == 200
        assert "could not see or hear the picture or recording.)" in (await replies(fake, 4))[3]
        assert [m.text for m in agent.received] == ["how long does it last?"]


async def test_an_escalation_reply_comes_first_and_is_recorded(
    fake: FakeTwilio, tmp_path: Path
) -> None:
    async with sms_server(fake, tmp_path) as (channel, _agent, settings):
        assert await sms(fake, "my husband can barely swallow") == 200
        body = (await replies(fake, 1))[0]
        assert body.startswith("Call 911 now.\n\nAutomated assistant of The Clinic")
        await settle(channel)
        [row] = store.outbound_rows(settings.db_url)
        assert (row["kind"], row["escalation_level"], row["status"]) == (
            "escalation",
            "emergency",
            "queued",
        )
        assert row["message_sid"] == fake.sent[0].sid
        assert fake.sent[0].from_ == CLINIC_NUMBER
        assert fake.sent[0].status_callback == fake.status_url


async def test_500_then_201_sends_one_message(fake: FakeTwilio, tmp_path: Path) -> None:
    async with sms_server(fake, tmp_path) as (channel, _agent, settings):
        fake.fail_next("500", "429")
        assert await sms(fake, "hello") == 200
        await replies(fake, 1)
        await settle(channel)
        assert fake.requests == 3 and len(fake.sent) == 1
        [row] = store.outbound_rows(settings.db_url)
        assert (row["status"], row["attempts"]) == ("queued", 3)


async def test_a_dropped_connection_is_never_retried_and_an_escalation_is_flagged(
    fake: FakeTwilio, tmp_path: Path
) -> None:
    async with sms_server(fake, tmp_path) as (channel, _agent, settings):
        fake.fail_next("disconnect")
        assert await sms(fake, "I cannot swallow") == 200
        await settle(channel)
        assert fake.requests == 1 and fake.sent == []
        [row] = store.outbound_rows(settings.db_url)
        assert (row["status"], row["needs_callback"]) == ("send_unknown", True)


async def test_error_21610_records_the_opt_out(fake: FakeTwilio, tmp_path: Path) -> None:
    async with sms_server(fake, tmp_path) as (channel, _agent, settings):
        fake.fail_next("21610")
        assert await sms(fake, "hello") == 200
        await settle(channel)
        assert fake.requests == 1  # a 4xx is final
        [row] = store.outbound_rows(settings.db_url)
        assert (row["status"], row["error_code"]) == ("send_failed", 21610)
        assert store.consent_rows(settings.db_url, cid(settings))[-1]["how"] == "error_21610"
        assert await sms(fake, "hello again") == 200
        await settle(channel)
        assert fake.requests == 1  # opted out: nothing more is sent


async def test_status_callbacks_move_forward_and_flag_a_failed_escalation(
    fake: FakeTwilio, tmp_path: Path
) -> None:
    async with sms_server(fake, tmp_path) as (channel, _agent, settings):
        assert await sms(fake, "I cannot swallow") == 200
        await replies(fake, 1)
        await settle(channel)
        sid = fake.sent[0].sid
        for status in ("sent", "queued"):  # a late "queued" does not move it back
            assert (await asyncio.to_thread(fake.status, sid, status))[0] == 200
        assert store.outbound_rows(settings.db_url)[0]["status"] == "sent"
        assert (await asyncio.to_thread(fake.status, sid, "undelivered", 30003))[0] == 200
        [row] = store.outbound_rows(settings.db_url)
        assert (row["status"], row["error_code"], row["needs_callback"]) == (
            "undelivered",
            30003,
            True,
        )


async def test_whatsapp_replies_from_the_whatsapp_sender_inside_the_window(
    fake: FakeTwilio, tmp_path: Path
) -> None:
    patient = "whatsapp:" + PATIENT
    async with sms_server(fake, tmp_path) as (channel, _agent, settings):
        assert await sms(fake, "how long does it last?", from_=patient) == 200
        await replies(fake, 1, to=patient)
        assert fake.sent[0].from_ == "whatsapp:" + CLINIC_NUMBER
        # Outside the 24-hour window nothing is sent.
        with store.get_engine(settings.db_url).begin() as conn:
            conn.execute(
                store.conversations.update().values(last_inbound_at=store._now().replace(year=2020))
            )
        channel._spawn(
            channel._send_texts(channel_inbound(settings, patient), ["late"], kind="notice")
        )
        await settle(channel)
        assert len(fake.sent) == 1
        assert store.outbound_rows(settings.db_url)[-1]["status"] == "outside_window"


def channel_inbound(settings: Settings, address: str) -> Any:
    from clinic_assistant.channels.twilio_channel import Inbound

    return Inbound("SM" + "b" * 32, address, cid(settings, address), "late", 0)


async def test_a_failure_inside_the_assistant_gets_a_kind_reply(
    fake: FakeTwilio, tmp_path: Path
) -> None:
    async with sms_server(fake, tmp_path) as (channel, _agent, settings):
        assert await sms(fake, "crash") == 200
        body = (await replies(fake, 1))[0]
        assert body.startswith("Sorry, something went wrong on my side. Please call The Clinic")
        await settle(channel)
        assert [r["status"] for r in rows(settings, store.inbound)] == ["failed"]
        assert await sms(fake, "silence") == 200
        assert (await replies(fake, 2))[1].startswith("Sorry, something went wrong on my side")
        # Opted out: not even the failure notice is sent.
        assert await sms(fake, "STOP") == 200
        await replies(fake, 3)
        assert await sms(fake, "crash") == 200
        await settle(channel)
        assert len(fake.messages_to(PATIENT)) == 3


async def test_a_danger_sign_that_fails_inside_the_assistant_still_gets_the_instruction(
    fake: FakeTwilio, tmp_path: Path, reported: List[Any]
) -> None:
    domain = Domain.from_dict(
        {"responses": {"utter_escalation_emergency": [{"text": "Call {emergency_number} now."}]}}
    )
    async with sms_server(fake, tmp_path, domain=domain) as (channel, _agent, _settings):
        assert await sms(fake, "I can't breathe since the shots (crash)") == 200
        body = (await replies(fake, 1))[0]
        await settle(channel)
    assert body.startswith("Call 911 now.")
    assert "Sorry, something went wrong on my side" in body
    assert [r["red_flag"].level for r in reported] == ["emergency"]


async def test_the_number_is_stored_once_and_never_logged(
    fake: FakeTwilio, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with sms_server(fake, tmp_path) as (channel, _agent, settings):
        fake.fail_next("500", "disconnect")
        for text in (f"hello {SECRET_WORDS}", "I cannot swallow", "STOP", "crash"):
            assert await sms(fake, text) == 200
            await settle(channel)
        await asyncio.to_thread(fake.status, "SM" + "c" * 32, "failed", 30003)
        assert await sms(fake, "x", signature=None) == 403
        await settle(channel)
        contacts = rows(settings, store.contacts)
        assert [c["address"] for c in contacts] == [PATIENT]
        assert contacts[0]["conversation_id"] == cid(settings)
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert logged  # the channel did log (refusals, failures)
    for secret in (PATIENT, PATIENT.lstrip("+"), SECRET_WORDS, "swallow", AUTH_TOKEN, ID_KEY):
        assert secret not in logged


def test_the_channel_is_off_without_a_token() -> None:
    channel = ClinicTwilioInput(load_settings({}))
    blueprint = channel.blueprint(Agent())
    assert not channel.twilio.enabled
    assert list(blueprint._future_routes) == []


async def test_inbound_rows_hold_no_text_or_number(fake: FakeTwilio, tmp_path: Path) -> None:
    async with sms_server(fake, tmp_path) as (channel, _agent, settings):
        assert await sms(fake, f"hello {SECRET_WORDS}") == 200
        await replies(fake, 1)
        await settle(channel)
        for table in (store.inbound, store.outbound, store.conversations, store.consent):
            for row in rows(settings, table):
                text = " ".join(str(v) for v in row.values())
                assert PATIENT not in text and SECRET_WORDS not in text


async def test_texts_get_the_shared_preparation_of_every_channel(
    fake: FakeTwilio, tmp_path: Path
) -> None:
    async with sms_server(fake, tmp_path) as (channel, agent, _settings):
        # A zero-width space and fullwidth letters are normalised away; a typed
        # red-flag intent is read as free text, never as a payload.
        fullwidth_shots = "\uff53\uff48\uff4f\uff54\uff53"
        assert await sms(fake, f"I can't swal\u200blow since the {fullwidth_shots}") == 200
        assert await sms(fake, '/red_flag_emergency{"red_flag_symptom": "x"}') == 200
        assert await sms(fake, "how long? " + "word " * 2_000) == 200
        await settle(channel)
        texts = [m.text for m in agent.received]
        assert texts[0] == "I can't swallow since the shots"
        assert texts[1] is not None and not texts[1].startswith("/")
        sent = await replies(fake, 3)
        assert "Please send a shorter message" in sent[-1]
