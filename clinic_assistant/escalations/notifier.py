"""Tell the clinic about an escalation: a webhook POST and/or an email.

What leaves the database is the minimum staff need to act: the escalation's
id and reference, times, count, level, symptoms and channel. The patient's own
words stay in the database (staff read them in the staff tools); they are never
sent and never logged. Webhook notices are signed (:data:`SIGNATURE_HEADER`)
when ``ESCALATION_WEBHOOK_SECRET`` is set, which it must be for a remote URL;
email goes over verified STARTTLS (with a login when one is set) to any relay
that is not on this machine.

Each configured channel gets ``Settings.notify_attempts`` attempts, each bounded
by ``Settings.notify_timeout_s``, with a short doubling pause between them.
Every outcome is written back to the escalation record, and nothing here raises
to the caller: a notice that could not be delivered is a ``failed`` record with
its error, for staff tools to show, not an exception in a patient's conversation.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import smtplib
import ssl
import time
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any, Awaitable, Callable, Dict, List, Optional

import aiohttp

from clinic_assistant.escalations import store
from clinic_assistant.escalations.model import Escalation
from clinic_assistant.settings import Settings

logger = logging.getLogger(__name__)

#: Pause before the second attempt; it doubles before each later one. Short,
#: because an emergency notice that waits is worth less with every second.
DEFAULT_BACKOFF_S = 0.5
#: HTTP 4xx answers that may succeed when tried again; any other 4xx will not.
RETRYABLE_4XX = frozenset({408, 425, 429})


#: The webhook's signature header: ``t=<unix seconds>,v1=<hex HMAC-SHA256>`` over
#: ``"<t>." + body`` with ``ESCALATION_WEBHOOK_SECRET`` (see :func:`verify_signature`).
SIGNATURE_HEADER = "X-Clinic-Signature"
#: How old a signed notice a receiver should still accept (replay bound).
SIGNATURE_TOLERANCE_S = 300


def notice_json(escalation: Escalation) -> Dict[str, Any]:
    """The webhook's JSON body: what staff need to act, never the patient's words.

    No conversation id either: for the web chat it is the patient's session
    token. Staff open the escalation by its id or reference in the staff tools.
    """
    return {
        "type": "escalation",
        "escalation_id": escalation.id,
        "ref": escalation.ref,
        "created_at": escalation.created_at.isoformat(),
        "last_seen_at": escalation.last_seen_at.isoformat(),
        "count": escalation.count,
        "level": escalation.level,
        "symptoms": list(escalation.symptoms),
        "channel": escalation.channel,
    }


def notice_body(escalation: Escalation) -> bytes:
    """The exact bytes POSTed (and signed): compact JSON with sorted keys."""
    return json.dumps(notice_json(escalation), separators=(",", ":"), sort_keys=True).encode()


def sign(secret: str, body: bytes, timestamp: int) -> str:
    """The :data:`SIGNATURE_HEADER` value for ``body`` sent at ``timestamp``."""
    mac = hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def verify_signature(
    secret: str,
    header: Optional[str],
    body: bytes,
    *,
    now: Optional[float] = None,
    tolerance_s: float = SIGNATURE_TOLERANCE_S,
) -> bool:
    """What a receiver does: True only for a fresh, matching signature."""
    try:
        fields = dict(part.split("=", 1) for part in (header or "").split(","))
        timestamp = int(fields["t"])
        supplied = fields["v1"]
    except (KeyError, ValueError):
        return False
    if abs((time.time() if now is None else now) - timestamp) > tolerance_s:
        return False
    expected = sign(secret, body, timestamp).split("v1=", 1)[1]
    return hmac.compare_digest(expected, supplied)


def notice_email(escalation: Escalation, sender: str, recipients: List[str]) -> EmailMessage:
    """The email. The subject names no symptom: subjects show up in mail logs."""
    number = "not recorded" if escalation.id is None else f"#{escalation.id}"
    message = EmailMessage()
    message["Subject"] = f"[Clinic assistant] {escalation.level.upper()} escalation {number}"
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    message["Date"] = formatdate(localtime=False)
    # An explicit domain: make_msgid() would otherwise look up this host's FQDN.
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or "localhost")
    repeats = f" ({escalation.count} messages)" if escalation.count > 1 else ""
    message.set_content(
        "A patient reported a danger sign to the clinic assistant and was given "
        f"the {escalation.level} instructions.\n\n"
        f"Escalation: {number}, reference {escalation.ref}{repeats}\n"
        f"First reported (UTC): {escalation.created_at.isoformat()}\n"
        f"Last reported (UTC): {escalation.last_seen_at.isoformat()}\n"
        f"Level: {escalation.level}\n"
        f"Symptoms: {', '.join(escalation.symptoms) or '(none named)'}\n"
        f"Channel: {escalation.channel or 'unknown'}\n\n"
        "Open the escalation in the staff tools to read what the patient wrote.\n"
    )
    return message


@dataclass(frozen=True)
class NotificationResult:
    """The outcome written to the record: status, attempts in all, and why it failed."""

    status: str  # "sent" | "failed" | "not_configured"
    attempts: int
    error: Optional[str] = None


@dataclass(frozen=True)
class _ChannelOutcome:
    name: str
    delivered: bool
    attempts: int
    error: Optional[str]


class _PermanentFailure(Exception):
    """An answer that trying again will not change (e.g. HTTP 404, SMTP 550)."""


class _RetryableFailure(Exception):
    """An answer that may change on the next attempt (e.g. HTTP 503)."""


class Notifier:
    """Sends escalation notices as configured in :class:`Settings`.

    Holds only configuration, so one instance may serve any number of notices.
    """

    def __init__(self, settings: Settings, *, backoff_s: float = DEFAULT_BACKOFF_S) -> None:
        """Take the webhook, email, timeout and attempts from ``settings``."""
        self._webhook_url = settings.escalation_webhook_url
        # ESCALATION_EMAIL_TO may list several addresses, separated by commas.
        self._email_to = [
            address.strip()
            for address in settings.escalation_email_to.split(",")
            if address.strip()
        ]
        self._smtp_host = settings.smtp_host
        self._smtp_port = settings.smtp_port
        self._smtp_from = settings.smtp_from
        self._smtp_starttls = settings.smtp_starttls
        self._smtp_username = settings.smtp_username
        self._smtp_password = settings.smtp_password
        self._smtp_ca_file = settings.smtp_ca_file
        self._webhook_secret = settings.escalation_webhook_secret
        self._timeout_s = settings.notify_timeout_s
        self._attempts = max(1, settings.notify_attempts)
        self._backoff_s = backoff_s
        self._db_url = settings.db_url

    @property
    def configured(self) -> bool:
        """True when a webhook or an email address is set."""
        return bool(self._webhook_url or self._email_to)

    @property
    def initial_status(self) -> str:
        """The status a new record starts with."""
        return "pending" if self.configured else "not_configured"

    async def notify(self, notice: Escalation) -> NotificationResult:
        """Deliver ``notice`` on every configured channel and record the outcome.

        Never raises (except on cancellation): every failure ends up in the
        result, on the record and in the log.
        """
        try:
            result = await self._deliver(notice)
        except Exception as error:  # a bug here must still leave a trace on the record
            logger.exception("Escalation %s: notifying the clinic crashed", notice.id)
            result = NotificationResult("failed", 0, f"internal error: {type(error).__name__}")
        await self._write_back(notice, result)
        return result

    async def _deliver(self, notice: Escalation) -> NotificationResult:
        if not self.configured:
            return NotificationResult("not_configured", 0)
        channels: List[Awaitable[_ChannelOutcome]] = []
        if self._webhook_url:
            channels.append(self._webhook(notice))
        if self._email_to:
            channels.append(self._email(notice))
        # Both at once: a slow mail server must not hold up the webhook.
        outcomes = await asyncio.gather(*channels)
        attempts = sum(outcome.attempts for outcome in outcomes)
        errors = "; ".join(
            f"{outcome.name}: {outcome.error}" for outcome in outcomes if not outcome.delivered
        )
        # One delivered channel means the clinic knows; the other's error is kept
        # on the record so a broken channel is still seen and fixed.
        if any(outcome.delivered for outcome in outcomes):
            for outcome in outcomes:
                if outcome.delivered:
                    logger.info(
                        "Escalation %s: clinic notified by %s after %d attempt(s)",
                        notice.id,
                        outcome.name,
                        outcome.attempts,
                    )
            return NotificationResult("sent", attempts, errors or None)
        logger.error("Escalation %s: the clinic could not be notified: %s", notice.id, errors)
        return NotificationResult("failed", attempts, errors)

    async def _with_retries(
        self, name: str, notice: Escalation, attempt: Callable[[], Awaitable[None]]
    ) -> _ChannelOutcome:
        """Run ``attempt`` until it succeeds, fails for good, or attempts run out."""
        error = "no attempt made"
        for number in range(1, self._attempts + 1):
            try:
                # One bound for both channels, whatever the library's own timeouts do.
                await asyncio.wait_for(attempt(), timeout=self._timeout_s)
                return _ChannelOutcome(name, True, number, None)
            except _PermanentFailure as failure:
                logger.warning("Escalation %s: %s refused the notice: %s", notice.id, name, failure)
                return _ChannelOutcome(name, False, number, str(failure))
            except asyncio.TimeoutError:
                error = f"timed out after {self._timeout_s:g} s"
            except _RetryableFailure as failure:
                error = str(failure)
            # Any other failure (refused connection, HTTP 5xx, SMTP error, ...) is
            # worth another try; one error path for all of them.
            except Exception as failure:  # noqa: BLE001
                error = self._describe(failure)
            logger.warning(
                "Escalation %s: %s attempt %d of %d failed: %s",
                notice.id,
                name,
                number,
                self._attempts,
                error,
            )
            if number < self._attempts:
                await asyncio.sleep(self._backoff_s * 2 ** (number - 1))
        return _ChannelOutcome(name, False, self._attempts, error)

    def _describe(self, failure: BaseException) -> str:
        """A short error text, without the webhook URL (it may carry a token)."""
        text = f"{type(failure).__name__}: {failure}".strip().rstrip(":")
        if self._webhook_url:
            text = text.replace(self._webhook_url, "<webhook url>")
        return text

    async def _webhook(self, notice: Escalation) -> _ChannelOutcome:
        body = notice_body(notice)
        timeout = aiohttp.ClientTimeout(total=self._timeout_s)
        async with aiohttp.ClientSession(timeout=timeout) as session:

            async def post() -> None:
                # No redirects: a notice must not be forwarded to a host nobody chose.
                headers = {"Content-Type": "application/json"}
                if self._webhook_secret:
                    # Signed at each attempt: the timestamp says when it was sent.
                    headers[SIGNATURE_HEADER] = sign(self._webhook_secret, body, int(time.time()))
                async with session.post(
                    self._webhook_url, data=body, headers=headers, allow_redirects=False
                ) as response:
                    if 200 <= response.status < 300:
                        return
                    error = f"HTTP {response.status} {response.reason or ''}".strip()
                    if 400 <= response.status < 500 and response.status not in RETRYABLE_4XX:
                        raise _PermanentFailure(error)
                    raise _RetryableFailure(error)

            return await self._with_retries("webhook", notice, post)

    async def _email(self, notice: Escalation) -> _ChannelOutcome:
        message = notice_email(notice, self._smtp_from, self._email_to)

        async def send() -> None:
            # smtplib blocks: run it in a worker thread so the event loop (the
            # action server's) keeps serving other patients meanwhile.
            await asyncio.to_thread(self._send_email, message)

        return await self._with_retries("email", notice, send)

    def _send_email(self, message: EmailMessage) -> None:
        # The socket timeout ends the worker thread too once wait_for gave up on it.
        try:
            with smtplib.SMTP(self._smtp_host, self._smtp_port, timeout=self._timeout_s) as smtp:
                if self._smtp_starttls:
                    # Verified TLS before anything else: the notice names symptoms and
                    # the login would go in the clear otherwise.
                    context = ssl.create_default_context(cafile=self._smtp_ca_file or None)
                    smtp.starttls(context=context)
                if self._smtp_username:
                    smtp.login(self._smtp_username, self._smtp_password)
                refused = smtp.send_message(message)
        except smtplib.SMTPResponseException as error:
            if 500 <= error.smtp_code < 600:
                raise _PermanentFailure(f"SMTP {error.smtp_code}") from error
            raise
        except smtplib.SMTPRecipientsRefused as error:
            raise _PermanentFailure(f"all {len(error.recipients)} recipient(s) refused") from error
        if refused:
            raise _PermanentFailure(f"{len(refused)} recipient(s) refused")

    async def _write_back(self, notice: Escalation, result: NotificationResult) -> None:
        """Store the outcome on the record; if that fails, the log keeps it."""
        if notice.id is None:
            logger.error(
                "Unrecorded %s escalation: notification %s after %d attempt(s)%s",
                notice.level,
                result.status,
                result.attempts,
                f" ({result.error})" if result.error else "",
            )
            return
        try:
            found = await asyncio.to_thread(
                store.update_notification,
                notice.id,
                result.status,
                result.attempts,
                result.error,
                db_url=self._db_url,
            )
        except Exception as error:  # noqa: BLE001 - a failed write-back must not raise
            found = False
            logger.error(
                "Escalation %s: could not store the outcome (%s): %s",
                notice.id,
                type(error).__name__,
                error,
            )
        if not found:
            logger.error(
                "Escalation %s: notification %s after %d attempt(s)%s, not on the record",
                notice.id,
                result.status,
                result.attempts,
                f" ({result.error})" if result.error else "",
            )
