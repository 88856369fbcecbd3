"""The notifier against real local servers: an aiohttp webhook and a tiny SMTP server.

Both listen on 127.0.0.1 on ephemeral ports; timeouts are a fraction of a
second so that the retry and timeout paths stay fast.
"""

from __future__ import annotations

import socket
import socketserver
import threading
import time
from datetime import datetime, timezone
from email import message_from_bytes, policy
from pathlib import Path
from typing import Callable, Iterator, List, Tuple

import pytest

from clinic_assistant.escalations import store
from clinic_assistant.escalations.notifier import EscalationNotice, Notifier
from clinic_assistant.settings import Settings, get_settings
from tests.unit.conftest import Webhook

MESSAGE = "I can't swallow and my voice is going"
SYMPTOMS = ("trouble_swallowing", "voice_changes")
FAST_BACKOFF_S = 0.01


class _SMTPHandler(socketserver.StreamRequestHandler):
    """Just enough SMTP for smtplib: greeting, EHLO, MAIL, RCPT, DATA, QUIT."""

    def handle(self) -> None:
        self.wfile.write(b"220 test ESMTP\r\n")
        while line := self.rfile.readline():
            command = line.decode("ascii", "replace").strip().upper()
            if command.startswith(("EHLO", "HELO")):
                self.wfile.write(b"250 test\r\n")
            elif command.startswith(("MAIL", "RCPT", "RSET", "NOOP")):
                self.wfile.write(b"250 OK\r\n")
            elif command == "DATA":
                self.wfile.write(b"354 go ahead\r\n")
                data = b""
                while (chunk := self.rfile.readline()) not in (b".\r\n", b""):
                    data += chunk
                self.server.messages.append(data)  # type: ignore[attr-defined]
                self.wfile.write(b"250 queued\r\n")
            elif command == "QUIT":
                self.wfile.write(b"221 bye\r\n")
                return
            else:
                self.wfile.write(b"502 not implemented\r\n")


@pytest.fixture
def smtp_server() -> Iterator[Tuple[int, List[bytes]]]:
    """A local SMTP server in a thread: (port, raw messages received)."""
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _SMTPHandler)
    server.daemon_threads = True
    server.messages = []  # type: ignore[attr-defined]
    # A short poll interval: shutdown() waits for the next poll.
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield server.server_address[1], server.messages  # type: ignore[attr-defined]
    finally:
        server.shutdown()
        server.server_close()


def _closed_port() -> int:
    """A port nothing listens on (connections to it are refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def configure(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Callable[..., Settings]]:
    """Set environment variables on top of a tmp database; returns fresh settings."""
    monkeypatch.setenv("ASSISTANT_DB_URL", f"sqlite:///{tmp_path / 'assistant.db'}")
    for key in (
        "ESCALATION_WEBHOOK_URL",
        "ESCALATION_EMAIL_TO",
        "SMTP_HOST",
        "SMTP_PORT",
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
    get_settings.cache_clear()
    store.dispose_engines()


def _recorded_notice(settings: Settings, notifier: Notifier) -> EscalationNotice:
    created_at = datetime.now(timezone.utc)
    escalation_id = store.record_escalation(
        conversation_id="patient-7",
        channel="socketio",
        level="emergency",
        symptoms=SYMPTOMS,
        message=MESSAGE,
        notification_status=notifier.initial_status,
        created_at=created_at,
        db_url=settings.db_url,
    )
    return EscalationNotice(
        escalation_id, created_at, "emergency", SYMPTOMS, "socketio", "patient-7"
    )


def _stored(settings: Settings, escalation_id: int | None) -> store.EscalationRecord:
    assert escalation_id is not None
    record = store.get_escalation(escalation_id, db_url=settings.db_url)
    assert record is not None
    return record


async def test_webhook_success_is_recorded_as_sent(
    webhook: Webhook, configure: Callable[..., Settings]
) -> None:
    settings = configure(ESCALATION_WEBHOOK_URL=webhook.url)
    notifier = Notifier(settings, backoff_s=FAST_BACKOFF_S)
    notice = _recorded_notice(settings, notifier)
    assert _stored(settings, notice.escalation_id).notification_status == "pending"

    result = await notifier.notify(notice)

    assert (result.status, result.attempts, result.error) == ("sent", 1, None)
    record = _stored(settings, notice.escalation_id)
    assert (record.notification_status, record.notification_attempts) == ("sent", 1)
    assert record.notification_error is None
    assert webhook.bodies == [
        {
            "type": "escalation",
            "escalation_id": notice.escalation_id,
            "created_at": notice.created_at.isoformat(),
            "level": "emergency",
            "symptoms": list(SYMPTOMS),
            "channel": "socketio",
            "conversation_id": "patient-7",
        }
    ]
    # Minimum necessary: the patient's words stay in the database.
    assert "swallow and my voice" not in str(webhook.bodies)


async def test_http_500_then_success_is_retried(
    webhook: Webhook, configure: Callable[..., Settings]
) -> None:
    settings = configure(ESCALATION_WEBHOOK_URL=webhook.url, ESCALATION_NOTIFY_ATTEMPTS="3")
    webhook.script = [(500, 0.0)]
    notifier = Notifier(settings, backoff_s=FAST_BACKOFF_S)
    notice = _recorded_notice(settings, notifier)

    result = await notifier.notify(notice)

    assert (result.status, result.attempts) == ("sent", 2)
    assert len(webhook.bodies) == 2
    record = _stored(settings, notice.escalation_id)
    assert (record.notification_status, record.notification_attempts) == ("sent", 2)


async def test_timeout_counts_as_a_failed_attempt(
    webhook: Webhook, configure: Callable[..., Settings]
) -> None:
    settings = configure(
        ESCALATION_WEBHOOK_URL=webhook.url,
        ESCALATION_NOTIFY_TIMEOUT="0.2",
        ESCALATION_NOTIFY_ATTEMPTS="2",
    )
    webhook.script = [(200, 5.0), (200, 5.0)]
    notifier = Notifier(settings, backoff_s=FAST_BACKOFF_S)
    notice = _recorded_notice(settings, notifier)

    started = time.perf_counter()
    result = await notifier.notify(notice)
    elapsed = time.perf_counter() - started

    assert (result.status, result.attempts) == ("failed", 2)
    assert elapsed < 2.0, "each attempt must give up after the timeout"
    record = _stored(settings, notice.escalation_id)
    assert (record.notification_status, record.notification_attempts) == ("failed", 2)
    assert record.notification_error == "webhook: timed out after 0.2 s"


async def test_all_attempts_failing_records_failed_with_the_error(
    webhook: Webhook, configure: Callable[..., Settings]
) -> None:
    settings = configure(ESCALATION_WEBHOOK_URL=webhook.url, ESCALATION_NOTIFY_ATTEMPTS="3")
    webhook.script = [(500, 0.0)] * 3
    notifier = Notifier(settings, backoff_s=FAST_BACKOFF_S)
    notice = _recorded_notice(settings, notifier)

    result = await notifier.notify(notice)

    assert (result.status, result.attempts) == ("failed", 3)
    assert len(webhook.bodies) == 3
    record = _stored(settings, notice.escalation_id)
    assert record.notification_status == "failed"
    assert record.notification_attempts == 3
    assert record.notification_error == "webhook: HTTP 500 Internal Server Error"


async def test_client_errors_are_not_retried(
    webhook: Webhook, configure: Callable[..., Settings]
) -> None:
    settings = configure(ESCALATION_WEBHOOK_URL=webhook.url, ESCALATION_NOTIFY_ATTEMPTS="3")
    webhook.script = [(404, 0.0)]
    notifier = Notifier(settings, backoff_s=FAST_BACKOFF_S)
    notice = _recorded_notice(settings, notifier)

    result = await notifier.notify(notice)

    assert (result.status, result.attempts) == ("failed", 1)
    assert len(webhook.bodies) == 1
    record = _stored(settings, notice.escalation_id)
    assert record.notification_error == "webhook: HTTP 404 Not Found"


async def test_unreachable_webhook_fails_without_raising_or_leaking_the_url(
    configure: Callable[..., Settings],
) -> None:
    url = f"http://127.0.0.1:{_closed_port()}/hook?token=s3cret"
    settings = configure(ESCALATION_WEBHOOK_URL=url, ESCALATION_NOTIFY_ATTEMPTS="2")
    notifier = Notifier(settings, backoff_s=FAST_BACKOFF_S)
    notice = _recorded_notice(settings, notifier)

    result = await notifier.notify(notice)

    assert (result.status, result.attempts) == ("failed", 2)
    record = _stored(settings, notice.escalation_id)
    assert record.notification_status == "failed"
    assert record.notification_error and record.notification_error.startswith("webhook: ")
    assert "s3cret" not in record.notification_error


async def test_not_configured_sends_nothing(configure: Callable[..., Settings]) -> None:
    settings = configure()
    notifier = Notifier(settings, backoff_s=FAST_BACKOFF_S)
    assert not notifier.configured
    notice = _recorded_notice(settings, notifier)
    assert _stored(settings, notice.escalation_id).notification_status == "not_configured"

    result = await notifier.notify(notice)

    assert (result.status, result.attempts, result.error) == ("not_configured", 0, None)
    record = _stored(settings, notice.escalation_id)
    assert (record.notification_status, record.notification_attempts) == ("not_configured", 0)


async def test_email_is_sent_without_the_message(
    smtp_server: Tuple[int, List[bytes]], configure: Callable[..., Settings]
) -> None:
    port, received = smtp_server
    settings = configure(
        ESCALATION_EMAIL_TO="oncall@clinic.example, nurse@clinic.example",
        SMTP_HOST="127.0.0.1",
        SMTP_PORT=str(port),
    )
    notifier = Notifier(settings, backoff_s=FAST_BACKOFF_S)
    notice = _recorded_notice(settings, notifier)

    result = await notifier.notify(notice)

    assert (result.status, result.attempts) == ("sent", 1)
    assert _stored(settings, notice.escalation_id).notification_status == "sent"
    assert len(received) == 1
    email = message_from_bytes(received[0], policy=policy.default)
    assert email["To"] == "oncall@clinic.example, nurse@clinic.example"
    assert email["Subject"] == f"[Clinic assistant] EMERGENCY escalation #{notice.escalation_id}"
    body = email.get_content()
    for expected in (
        f"#{notice.escalation_id}",
        "emergency",
        "trouble_swallowing, voice_changes",
        "socketio",
        "patient-7",
        notice.created_at.isoformat(),
    ):
        assert expected in body
    assert "swallow and my voice" not in received[0].decode()


async def test_email_down_is_retried_then_failed(configure: Callable[..., Settings]) -> None:
    settings = configure(
        ESCALATION_EMAIL_TO="oncall@clinic.example",
        SMTP_HOST="127.0.0.1",
        SMTP_PORT=str(_closed_port()),
        ESCALATION_NOTIFY_ATTEMPTS="2",
    )
    notifier = Notifier(settings, backoff_s=FAST_BACKOFF_S)
    notice = _recorded_notice(settings, notifier)

    result = await notifier.notify(notice)

    assert (result.status, result.attempts) == ("failed", 2)
    record = _stored(settings, notice.escalation_id)
    assert record.notification_status == "failed"
    assert record.notification_error and record.notification_error.startswith(
        "email: ConnectionRefusedError"
    )


async def test_one_channel_delivered_is_sent_and_the_other_error_kept(
    webhook: Webhook, configure: Callable[..., Settings]
) -> None:
    settings = configure(
        ESCALATION_WEBHOOK_URL=webhook.url,
        ESCALATION_EMAIL_TO="oncall@clinic.example",
        SMTP_HOST="127.0.0.1",
        SMTP_PORT=str(_closed_port()),
        ESCALATION_NOTIFY_ATTEMPTS="2",
    )
    notifier = Notifier(settings, backoff_s=FAST_BACKOFF_S)
    notice = _recorded_notice(settings, notifier)

    result = await notifier.notify(notice)

    assert result.status == "sent"
    assert result.attempts == 3  # webhook 1 + email 2
    record = _stored(settings, notice.escalation_id)
    assert record.notification_status == "sent"
    assert record.notification_error and record.notification_error.startswith("email: ")


async def test_unrecorded_escalation_is_still_sent(
    webhook: Webhook, configure: Callable[..., Settings]
) -> None:
    settings = configure(ESCALATION_WEBHOOK_URL=webhook.url)
    notice = EscalationNotice(
        None, datetime.now(timezone.utc), "urgent", ("ptosis",), "rest", "patient-9"
    )

    result = await Notifier(settings, backoff_s=FAST_BACKOFF_S).notify(notice)

    assert result.status == "sent"
    assert webhook.bodies[0]["escalation_id"] is None


async def test_a_failing_write_back_is_logged_not_raised(
    webhook: Webhook,
    configure: Callable[..., Settings],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    # The database's folder cannot be created: every write-back fails.
    settings = configure(
        ESCALATION_WEBHOOK_URL=webhook.url, ASSISTANT_DB_URL=f"sqlite:///{blocker / 'assistant.db'}"
    )
    notice = EscalationNotice(
        41, datetime.now(timezone.utc), "urgent", ("ptosis",), "rest", "patient-9"
    )

    result = await Notifier(settings, backoff_s=FAST_BACKOFF_S).notify(notice)

    assert result.status == "sent"
    assert "Escalation 41: notification sent after 1 attempt(s), not on the record" in caplog.text
