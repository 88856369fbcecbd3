"""The notifier against real local servers: an aiohttp webhook and a tiny SMTP server.

Both listen on 127.0.0.1 on ephemeral ports; timeouts are a fraction of a
second so that the retry and timeout paths stay fast.
"""

from __future__ import annotations

import hashlib
import hmac
import socket
import socketserver
import ssl
import subprocess
import threading
import time
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any, Callable, Iterator, List, Tuple

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from clinic_assistant.escalations import store
from clinic_assistant.escalations.model import Escalation, new_ref
from clinic_assistant.escalations.notifier import (
    SIGNATURE_HEADER,
    Notifier,
    notice_body,
    sign,
    verify_signature,
)
from clinic_assistant.servers import free_port
from clinic_assistant.settings import Settings, get_settings
from tests.unit.conftest import Webhook

MESSAGE = "I can't swallow and my voice is going"
SYMPTOMS = ("difficulty_swallowing", "voice_changes")
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


def _escalation(escalation_id: int | None = None, level: str = "emergency") -> Escalation:
    now = datetime.now(timezone.utc)
    return Escalation(
        ref=new_ref(),
        conversation_id="patient-7",
        channel="socketio",
        level=level,
        symptoms=SYMPTOMS,
        message=MESSAGE,
        created_at=now,
        last_seen_at=now,
        id=escalation_id,
    )


def _recorded_notice(settings: Settings, notifier: Notifier) -> Escalation:
    sighting = replace(_escalation(), notification_status=notifier.initial_status)
    return store.record(sighting, db_url=settings.db_url).escalation


def _stored(settings: Settings, escalation_id: int | None) -> Escalation:
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
    assert _stored(settings, notice.id).notification_status == "pending"

    result = await notifier.notify(notice)

    assert (result.status, result.attempts, result.error) == ("sent", 1, None)
    record = _stored(settings, notice.id)
    assert (record.notification_status, record.notification_attempts) == ("sent", 1)
    assert record.notification_error is None
    assert webhook.bodies == [
        {
            "type": "escalation",
            "escalation_id": notice.id,
            "ref": notice.ref,
            "created_at": notice.created_at.isoformat(),
            "last_seen_at": notice.last_seen_at.isoformat(),
            "count": 1,
            "level": "emergency",
            "symptoms": list(SYMPTOMS),
            "channel": "socketio",
        }
    ]
    # Minimum necessary: the patient's words stay in the database, and the
    # conversation id (a web chat's session token) is not sent either.
    assert "swallow and my voice" not in str(webhook.bodies)
    assert "patient-7" not in webhook.raw[0].decode()
    # Without a secret (a webhook on this machine), unsigned.
    assert SIGNATURE_HEADER not in webhook.headers[0]


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
    record = _stored(settings, notice.id)
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
    record = _stored(settings, notice.id)
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
    record = _stored(settings, notice.id)
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
    record = _stored(settings, notice.id)
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
    record = _stored(settings, notice.id)
    assert record.notification_status == "failed"
    assert record.notification_error and record.notification_error.startswith("webhook: ")
    assert "s3cret" not in record.notification_error


async def test_not_configured_sends_nothing(configure: Callable[..., Settings]) -> None:
    settings = configure()
    notifier = Notifier(settings, backoff_s=FAST_BACKOFF_S)
    assert not notifier.configured
    notice = _recorded_notice(settings, notifier)
    assert _stored(settings, notice.id).notification_status == "not_configured"

    result = await notifier.notify(notice)

    assert (result.status, result.attempts, result.error) == ("not_configured", 0, None)
    record = _stored(settings, notice.id)
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
    assert _stored(settings, notice.id).notification_status == "sent"
    assert len(received) == 1
    email = message_from_bytes(received[0], policy=policy.default)
    assert email["To"] == "oncall@clinic.example, nurse@clinic.example"
    assert email["Subject"] == f"[Clinic assistant] EMERGENCY escalation #{notice.id}"
    body = email.get_content()
    for expected in (
        f"#{notice.id}",
        "emergency",
        "difficulty_swallowing, voice_changes",
        "socketio",
        notice.ref,
        notice.created_at.isoformat(),
    ):
        assert expected in body
    assert "swallow and my voice" not in received[0].decode()
    assert "patient-7" not in received[0].decode()


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
    record = _stored(settings, notice.id)
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
    record = _stored(settings, notice.id)
    assert record.notification_status == "sent"
    assert record.notification_error and record.notification_error.startswith("email: ")


async def test_unrecorded_escalation_is_still_sent(
    webhook: Webhook, configure: Callable[..., Settings]
) -> None:
    settings = configure(ESCALATION_WEBHOOK_URL=webhook.url)
    notice = _escalation(None, "urgent")

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
    notice = _escalation(41, "urgent")

    result = await Notifier(settings, backoff_s=FAST_BACKOFF_S).notify(notice)

    assert result.status == "sent"
    assert "Escalation 41: notification sent after 1 attempt(s), not on the record" in caplog.text


SECRET = "a-webhook-secret-of-the-clinic-0123"


async def test_webhook_notices_are_signed_and_verifiable(
    webhook: Webhook, configure: Callable[..., Settings]
) -> None:
    settings = configure(ESCALATION_WEBHOOK_URL=webhook.url, ESCALATION_WEBHOOK_SECRET=SECRET)
    notifier = Notifier(settings, backoff_s=FAST_BACKOFF_S)
    notice = _recorded_notice(settings, notifier)
    before = int(time.time())

    assert (await notifier.notify(notice)).status == "sent"

    header = webhook.headers[0][SIGNATURE_HEADER]
    body = webhook.raw[0]
    assert body == notice_body(notice)
    timestamp = int(header.split(",")[0].removeprefix("t="))
    assert before <= timestamp <= time.time()
    # What the README tells the receiver to compute:
    expected = hmac.new(SECRET.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    assert header == f"t={timestamp},v1={expected.hexdigest()}"
    assert verify_signature(SECRET, header, body)
    # A changed body, another key, a replay after the tolerance, or junk: refused.
    assert not verify_signature(SECRET, header, body.replace(b"emergency", b"urgent"))
    assert not verify_signature("another-secret-entirely-0123", header, body)
    assert not verify_signature(SECRET, header, body, now=timestamp + 301)
    for junk in (None, "", "t=x,v1=y", "v1=" + expected.hexdigest()):
        assert not verify_signature(SECRET, junk, body)


def test_sign_is_hmac_sha256_over_timestamp_and_body() -> None:
    body = b'{"a":1}'
    mac = hmac.new(b"k" * 16, b"1700000000." + body, hashlib.sha256).hexdigest()
    assert sign("k" * 16, body, 1_700_000_000) == f"t=1700000000,v1={mac}"


# --- SMTP with STARTTLS and a login, against aiosmtpd (a real SMTP server) ----------
LOGIN, PASSWORD = "assistant", "relay-password-42"


@dataclass
class Relay:
    """What the local relay saw: messages, and whether each came over TLS after a login."""

    port: int
    ca_file: str
    messages: List[bytes] = field(default_factory=list)
    sessions: List[Tuple[bool, bool]] = field(default_factory=list)  # (tls, authenticated)


def _certificate(folder: Path) -> Tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (it is its own CA)."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


def _start_relay(tmp_path: Path, *, tls: bool) -> Tuple[Relay, Controller]:
    cert, key = _certificate(tmp_path)
    relay = Relay(port=free_port(), ca_file=str(cert))

    class Handler:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            relay.messages.append(envelope.original_content or envelope.content)
            relay.sessions.append((session.ssl is not None, bool(session.authenticated)))
            return "250 queued"

    def authenticator(
        server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
    ) -> AuthResult:
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login == LOGIN.encode()
            and auth_data.password == PASSWORD.encode()
        )
        # handled=False: aiosmtpd then answers 535 itself.
        return AuthResult(success=ok, handled=False)

    context = None
    if tls:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert, key)
    controller = Controller(
        Handler(),
        hostname="127.0.0.1",
        port=relay.port,
        tls_context=context,
        require_starttls=tls,
        auth_require_tls=True,
        authenticator=authenticator,
        auth_required=tls,
    )
    controller.start()
    return relay, controller


@pytest.fixture
def tls_relay(tmp_path: Path) -> Iterator[Relay]:
    """aiosmtpd requiring STARTTLS and a login, on 127.0.0.1."""
    relay, controller = _start_relay(tmp_path, tls=True)
    try:
        yield relay
    finally:
        controller.stop()


def _relay_settings(configure: Callable[..., Settings], relay: Relay, **env: str) -> Settings:
    values = {
        "ESCALATION_EMAIL_TO": "oncall@clinic.example",
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(relay.port),
        "SMTP_STARTTLS": "true",
        "SMTP_CA_FILE": relay.ca_file,
        "SMTP_USERNAME": LOGIN,
        "SMTP_PASSWORD": PASSWORD,
        "ESCALATION_NOTIFY_ATTEMPTS": "1",
        "ESCALATION_NOTIFY_TIMEOUT": "5",
    }
    values.update(env)
    return configure(**values)


async def test_email_goes_over_verified_starttls_after_a_login(
    tls_relay: Relay, configure: Callable[..., Settings]
) -> None:
    settings = _relay_settings(configure, tls_relay)
    notifier = Notifier(settings, backoff_s=FAST_BACKOFF_S)
    notice = _recorded_notice(settings, notifier)

    result = await notifier.notify(notice)

    assert (result.status, result.error) == ("sent", None)
    assert tls_relay.sessions == [(True, True)]
    email = message_from_bytes(tls_relay.messages[0], policy=policy.default)
    assert email["Subject"] == f"[Clinic assistant] EMERGENCY escalation #{notice.id}"


async def test_a_wrong_password_is_a_permanent_failure(
    tls_relay: Relay, configure: Callable[..., Settings]
) -> None:
    settings = _relay_settings(
        configure, tls_relay, SMTP_PASSWORD="wrong-password", ESCALATION_NOTIFY_ATTEMPTS="3"
    )
    notifier = Notifier(settings, backoff_s=FAST_BACKOFF_S)
    notice = _recorded_notice(settings, notifier)

    result = await notifier.notify(notice)

    assert (result.status, result.attempts, result.error) == ("failed", 1, "email: SMTP 535")
    assert tls_relay.messages == []


async def test_an_untrusted_certificate_sends_nothing(
    tls_relay: Relay, configure: Callable[..., Settings], tmp_path: Path
) -> None:
    (tmp_path / "other").mkdir()
    other, _ = _certificate(tmp_path / "other")  # a certificate the relay does not have
    settings = _relay_settings(configure, tls_relay, SMTP_CA_FILE=str(other))
    notifier = Notifier(settings, backoff_s=FAST_BACKOFF_S)

    result = await notifier.notify(_recorded_notice(settings, notifier))

    assert result.status == "failed" and "SSLCertVerificationError" in (result.error or "")
    assert tls_relay.messages == []


async def test_a_relay_without_starttls_gets_nothing_in_the_clear(
    tmp_path: Path, configure: Callable[..., Settings]
) -> None:
    relay, controller = _start_relay(tmp_path, tls=False)
    try:
        settings = _relay_settings(configure, relay)
        notifier = Notifier(settings, backoff_s=FAST_BACKOFF_S)

        result = await notifier.notify(_recorded_notice(settings, notifier))

        assert result.status == "failed"
        assert "STARTTLS" in (result.error or "")
        assert relay.messages == []
    finally:
        controller.stop()
